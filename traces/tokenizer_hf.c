/*
 * tokenizer_hf.c -- loads a Hugging Face tokenizer.json (parsed with
 * jansson) and encodes text with it, as the `tokenizers` library does, to
 * count and name the tokens of prompts.
 *
 * Pipeline (per cc_tokenize call):
 *   1. added_tokens whose "normalized" is false are found in the raw text
 *      (leftmost, longest; single_word / lstrip / rstrip honoured) and give
 *      their ids; the text between them goes on:
 *   2. the normalizer (NFC/NFD/NFKC/NFKD, Lowercase, StripAccents,
 *      BertNormalizer, Replace, Prepend, Strip, Sequence);
 *   3. added_tokens with "normalized": true, found in the normalized text;
 *   4. the pre-tokenizer cuts words (Split with the file's regex and any of
 *      the five behaviours, ByteLevel with or without its GPT-2 regex,
 *      BertPreTokenizer, Whitespace, WhitespaceSplit, Digits, Punctuation,
 *      Metaspace, Sequence);
 *   5. the model maps each word to ids: BPE (merges as "a b" strings or
 *      [a, b] pairs, ranked by position; unk_token, fuse_unk, byte_fallback,
 *      continuing_subword_prefix, end_of_word_suffix, ignore_merges),
 *      WordPiece (greedy longest match, "##" continuation,
 *      max_input_chars_per_word, unk_token) or WordLevel.
 * No special tokens are added ([CLS], <bos>, ...: the post_processor is not
 * applied), since we count prompt tokens; the decoder is not needed.
 *
 * Byte-level BPE (GPT-2, Llama-3, Qwen, DeepSeek: a ByteLevel step in the
 * pre-tokenizer) is encoded on raw bytes: at load, vocabulary and merge
 * strings are mapped back through GPT-2's byte-to-unicode table, so a word's
 * initial symbols are its bytes and no per-call remapping is needed.
 *
 * Libraries: regexes run on Oniguruma, the engine `tokenizers` itself uses,
 * so split patterns mean the same ("\p{L}", "(?i:...)", lookahead...);
 * Unicode normalisation, case mapping and character categories come from
 * utf8proc.  Limits (stated, not hidden): Lowercase maps code point by code
 * point (utf8proc_tolower: U+0130 'İ' becomes 'i', where Rust gives "i̇");
 * BPE dropout is ignored (counts stay deterministic); model types Unigram
 * and normalizer Precompiled (SentencePiece charsmaps) are CC_EUNSUP.  A
 * file's regex that exceeds Oniguruma's backtracking limit on some text
 * makes cc_tokenize return CC_ERANGE rather than cut differently.
 *
 * Cost.  Load: O(file) parse, vocabulary and merges in cc_u64map hash maps
 * (about 70 bytes per vocabulary entry plus the strings, 32 per merge).
 * Encode: O(bytes) for normalisation and splitting; BPE is O(s log s) per
 * word of s initial symbols (a heap of candidate merges keyed by
 * (rank, position), merges looked up by the pair of ids); WordPiece is
 * O(w^2) per word of w characters (w <= max_input_chars_per_word).  Working
 * buffers live in the model and are reused across calls (no allocation per
 * call once warm); a mutex (trylock) guards them and a concurrent caller
 * uses buffers of its own, so a tokenizer may be shared by threads.
 */
#include "tokenizer_int.h"

#include <jansson.h>
#include <oniguruma.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define HF_MAX_ID 0x7fffffffu

/* ---- growable byte buffer ---------------------------------------------- */
typedef struct bytes {
    char *p;
    size_t len, cap;
} bytes;

static int bytes_put(bytes *b, const void *s, size_t n)
{
    if (cc_grow((void **)&b->p, &b->cap, b->len + n + 1, 1))
        return CC_ENOMEM;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return CC_OK;
}

/* ---- vocabulary: byte string -> id ---------------------------------------
 * A cc_u64map from the XXH3 hash of the bytes to the entry index; lookups
 * compare the bytes, so a hash collision can only refuse a load, never give
 * a wrong id. */
typedef struct vocab {
    cc_u64map map;
    bytes arena;
    uint64_t *off;
    uint32_t *len, *id;
    size_t n, cap_off, cap_len, cap_id;
    size_t max_len; /* longest entry, bytes */
} vocab;

#define VOCAB_SEED 0x766f636162ull

static void vocab_free(vocab *v)
{
    cc_u64map_free(&v->map);
    free(v->arena.p);
    free(v->off);
    free(v->len);
    free(v->id);
}

/* 1 when found (*id set), 0 otherwise. */
static int vocab_find(const vocab *v, const char *s, size_t n, uint32_t *id)
{
    uint64_t *e = cc_u64map_get(&v->map, cc_hash_bytes(s, n, VOCAB_SEED));
    if (!e || v->len[*e] != n || memcmp(v->arena.p + v->off[*e], s, n) != 0)
        return 0;
    *id = v->id[*e];
    return 1;
}

/* 1 added, 0 already present (first id kept), CC_EUNSUP on a hash collision. */
static int vocab_add(vocab *v, const char *s, size_t n, uint32_t id)
{
    uint64_t *slot;
    int rc = cc_u64map_put(&v->map, cc_hash_bytes(s, n, VOCAB_SEED), v->n, &slot);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        if (v->len[*slot] == n && memcmp(v->arena.p + v->off[*slot], s, n) == 0)
            return 0;
        return CC_EUNSUP;
    }
    if (cc_grow((void **)&v->off, &v->cap_off, v->n + 1, sizeof *v->off) ||
        cc_grow((void **)&v->len, &v->cap_len, v->n + 1, sizeof *v->len) ||
        cc_grow((void **)&v->id, &v->cap_id, v->n + 1, sizeof *v->id))
        return CC_ENOMEM;
    v->off[v->n] = v->arena.len;
    v->len[v->n] = (uint32_t)n;
    if (n > v->max_len)
        v->max_len = n;
    v->id[v->n] = id;
    v->n++;
    return bytes_put(&v->arena, s, n) ? CC_ENOMEM : 1;
}

/* ---- GPT-2's byte <-> printable character table ---------------------------
 * Bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves; the other
 * 68 bytes, in order, become U+0100 + k. */
static void byte_table(uint32_t byte_to_cp[256], int16_t cp_to_byte[324])
{
    int extra = 0;
    for (int i = 0; i < 324; i++)
        cp_to_byte[i] = -1;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
        byte_to_cp[b] = keep ? (uint32_t)b : 256u + (uint32_t)extra++;
        cp_to_byte[byte_to_cp[b]] = (int16_t)b;
    }
}

/* ---- Unicode helpers --------------------------------------------------------- */
static int is_ws(uint32_t c) /* White_Space, as Rust's char::is_whitespace */
{
    return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

static int cat_major(uint32_t c, char major)
{
    const char *s = utf8proc_category_string((utf8proc_int32_t)c);
    return s[0] == major;
}

static int is_punct_bert(uint32_t c) /* ASCII punctuation or Unicode P* */
{
    if (c < 0x80)
        return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
               (c >= '{' && c <= '~');
    return cat_major(c, 'P');
}

static int is_numeric(uint32_t c) { return cat_major(c, 'N'); }
static int is_word_char(uint32_t c) { return c == '_' || cat_major(c, 'L') || cat_major(c, 'N'); }

static int is_cjk(uint32_t c)
{
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f) ||
           (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/* Code point at s[i] (text already validated); returns its length. */
static size_t cp_at(const char *s, size_t len, size_t i, uint32_t *cp)
{
    return cc_utf8_next((const unsigned char *)s + i, len - i, cp);
}

/* Start of the character that ends at s[i] (i > 0). */
static size_t cp_before(const char *s, size_t i)
{
    do
        i--;
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80);
    return i;
}

/* ---- regexes (Oniguruma) --------------------------------------------------- */
static pthread_once_t onig_once = PTHREAD_ONCE_INIT;
static void onig_setup(void)
{
    OnigEncoding enc[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(enc, 1);
}

static int regex_compile(const char *pat, size_t n, int literal, regex_t **out, char *why,
                         size_t why_len)
{
    pthread_once(&onig_once, onig_setup);
    OnigErrorInfo info;
    int r = onig_new(out, (const UChar *)pat, (const UChar *)pat + n, ONIG_OPTION_NONE,
                     ONIG_ENCODING_UTF8, literal ? ONIG_SYNTAX_ASIS : ONIG_SYNTAX_DEFAULT, &info);
    if (r != ONIG_NORMAL) {
        UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, r, &info);
        snprintf(why, why_len, "%s", (const char *)msg);
        *out = NULL;
        return CC_EFORMAT;
    }
    return CC_OK;
}

/* ---- the model's parts ------------------------------------------------------ */
enum { BEH_REMOVED, BEH_ISOLATED, BEH_MERGED_PREV, BEH_MERGED_NEXT, BEH_CONTIGUOUS };

enum {
    NM_NFC, NM_NFD, NM_NFKC, NM_NFKD, NM_LOWERCASE, NM_STRIP_ACCENTS, NM_BERT, NM_REPLACE,
    NM_PREPEND, NM_STRIP
};
typedef struct norm_step {
    int kind;
    bool clean_text, chinese, strip_accents, lowercase; /* BertNormalizer */
    bool left, right;                                   /* Strip */
    regex_t *re;                                        /* Replace (pattern) */
    char *content;                                      /* Replace, Prepend */
    size_t content_len;
} norm_step;

enum {
    PT_SPLIT, PT_BYTELEVEL, PT_BERT, PT_WHITESPACE, PT_WHITESPACE_SPLIT, PT_DIGITS, PT_PUNCT,
    PT_METASPACE
};
enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };
typedef struct pretok_step {
    int kind;
    regex_t *re; /* Split, ByteLevel with use_regex, Whitespace */
    int behavior;
    bool invert, add_prefix_space, individual_digits, split;
    int prepend;
    char repl[8]; /* Metaspace replacement (UTF-8) */
    size_t repl_len;
} pretok_step;

typedef struct added_token {
    uint32_t id;
    char *content; /* as matched: normalized when "normalized" is true */
    size_t len;
    bool single_word, lstrip, rstrip, normalized;
} added_token;

/* Added tokens matched in one pass: indices into hf_model.added grouped by
 * first byte (bucket b is idx[start[b] .. start[b+1])), longest first. */
typedef struct added_group {
    uint32_t *idx;
    size_t n;
    uint32_t start[257];
} added_group;

enum { MODEL_BPE, MODEL_WORDPIECE, MODEL_WORDLEVEL };

/* ---- per-call working buffers ------------------------------------------------ */
typedef struct piece {
    size_t off, len; /* in work.buf */
    bool first;      /* starts the input (Metaspace prepend_scheme "first") */
} piece;

typedef struct seg {
    size_t a, b;
    bool match;
} seg;

typedef struct sym {
    uint32_t id;
    int32_t prev, next; /* -1: none */
    bool dead;
} sym;

typedef struct cand {
    uint32_t rank;
    int32_t pos;
} cand;

typedef struct work {
    bytes buf;         /* text of the pieces */
    bytes norm[2];     /* normalizer ping-pong */
    bytes key;         /* lookup keys (prefix + unit) */
    piece *pa, *pb, *pc;
    size_t cap_pa, cap_pb, cap_pc;
    seg *segs;
    size_t cap_segs;
    sym *syms;
    size_t cap_syms;
    cand *heap;
    size_t cap_heap;
    utf8proc_int32_t *ucs;
    size_t cap_ucs;
    OnigRegion *region;
} work;

static void work_free(work *w)
{
    free(w->buf.p);
    free(w->norm[0].p);
    free(w->norm[1].p);
    free(w->key.p);
    free(w->pa);
    free(w->pb);
    free(w->pc);
    free(w->segs);
    free(w->syms);
    free(w->heap);
    free(w->ucs);
    if (w->region)
        onig_region_free(w->region, 1);
    memset(w, 0, sizeof *w);
}

typedef struct hf_model {
    int type;
    vocab vocab;
    vocab raw_extra;      /* byte-level: vocabulary strings outside the byte alphabet */
    size_t model_entries; /* entries of model.vocab */
    uint32_t vocab_size;
    /* BPE */
    cc_u64map merges; /* (left id << 32 | right id) -> (rank << 32 | merged id) */
    bool byte_level, ignore_merges, fuse_unk, byte_fallback;
    int32_t byte_id[256];         /* byte-level: id of each single byte, -1 if none */
    uint32_t byte_to_cp[256];
    int16_t cp_to_byte[324];
    char *prefix, *suffix; /* continuing_subword_prefix, end_of_word_suffix */
    size_t prefix_len, suffix_len;
    bool has_unk;
    uint32_t unk_id;
    uint32_t max_chars; /* WordPiece */
    /* pipeline */
    norm_step *norm;
    size_t n_norm;
    pretok_step *pretok;
    size_t n_pretok;
    added_token *added;
    size_t n_added;
    added_group added_raw, added_norm; /* "normalized": false / true */
    /* working buffers, guarded by lock */
    pthread_mutex_t lock;
    work w;
} hf_model;

static void model_free(void *mv)
{
    hf_model *m = mv;
    if (!m)
        return;
    vocab_free(&m->vocab);
    vocab_free(&m->raw_extra);
    cc_u64map_free(&m->merges);
    free(m->prefix);
    free(m->suffix);
    for (size_t i = 0; i < m->n_norm; i++) {
        if (m->norm[i].re)
            onig_free(m->norm[i].re);
        free(m->norm[i].content);
    }
    free(m->norm);
    for (size_t i = 0; i < m->n_pretok; i++)
        if (m->pretok[i].re)
            onig_free(m->pretok[i].re);
    free(m->pretok);
    for (size_t i = 0; i < m->n_added; i++)
        free(m->added[i].content);
    free(m->added);
    free(m->added_raw.idx);
    free(m->added_norm.idx);
    pthread_mutex_destroy(&m->lock);
    work_free(&m->w);
    free(m);
}

/* ==== normalizers ============================================================ */

/* utf8proc normal forms: in -> out through the code point buffer. */
static int normal_form(work *w, const char *in, size_t len, utf8proc_option_t opt, bytes *out)
{
    opt |= UTF8PROC_STABLE;
    utf8proc_ssize_t r = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t room = w->cap_ucs ? w->cap_ucs - 1 : 0;
        r = utf8proc_decompose((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)len, w->ucs,
                               (utf8proc_ssize_t)room, opt);
        if (r < 0)
            return CC_EFORMAT;
        if ((size_t)r <= room)
            break;
        if (cc_grow((void **)&w->ucs, &w->cap_ucs, (size_t)r + 1, sizeof *w->ucs))
            return CC_ENOMEM;
    }
    r = utf8proc_reencode(w->ucs, r, opt); /* in place: UTF-8 is never longer */
    if (r < 0)
        return CC_EFORMAT;
    out->len = 0;
    return bytes_put(out, w->ucs, (size_t)r);
}

static int put_cp(bytes *out, uint32_t cp)
{
    utf8proc_uint8_t tmp[4];
    utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)cp, tmp);
    return bytes_put(out, tmp, (size_t)n);
}

static int replace_all(work *w, const norm_step *st, const char *in, size_t len, bytes *out)
{
    out->len = 0;
    if (!w->region && !(w->region = onig_region_new()))
        return CC_ENOMEM;
    const UChar *s = (const UChar *)in, *end = s + len;
    size_t pos = 0, copied = 0;
    while (pos <= len) {
        int r = onig_search(st->re, s, end, s + pos, end, w->region, ONIG_OPTION_NONE);
        if (r == ONIG_MISMATCH)
            break;
        if (r < 0)
            return CC_ERANGE;
        size_t a = (size_t)w->region->beg[0], b = (size_t)w->region->end[0];
        if (b == a) { /* empty match: step over one character */
            uint32_t cp;
            if (a >= len)
                break;
            pos = a + cp_at(in, len, a, &cp);
            continue;
        }
        if (bytes_put(out, in + copied, a - copied) || bytes_put(out, st->content, st->content_len))
            return CC_ENOMEM;
        copied = pos = b;
    }
    return bytes_put(out, in + copied, len - copied);
}

static int norm_one(work *w, const norm_step *st, const char *in, size_t len, bytes *out)
{
    uint32_t cp;
    out->len = 0;
    switch (st->kind) {
    case NM_NFC: return normal_form(w, in, len, UTF8PROC_COMPOSE, out);
    case NM_NFD: return normal_form(w, in, len, UTF8PROC_DECOMPOSE, out);
    case NM_NFKC: return normal_form(w, in, len, UTF8PROC_COMPOSE | UTF8PROC_COMPAT, out);
    case NM_NFKD: return normal_form(w, in, len, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, out);
    case NM_REPLACE: return replace_all(w, st, in, len, out);
    case NM_PREPEND:
        if (len && bytes_put(out, st->content, st->content_len))
            return CC_ENOMEM;
        return bytes_put(out, in, len);
    case NM_STRIP: {
        size_t a = 0, b = len;
        while (st->left && a < b && is_ws((cp_at(in, len, a, &cp), cp)))
            a += cp_at(in, len, a, &cp);
        while (st->right && b > a) {
            size_t p = cp_before(in, b);
            cp_at(in, len, p, &cp);
            if (!is_ws(cp))
                break;
            b = p;
        }
        return bytes_put(out, in + a, b - a);
    }
    case NM_LOWERCASE:
    case NM_STRIP_ACCENTS:
        for (size_t i = 0; i < len;) {
            i += cp_at(in, len, i, &cp);
            if (st->kind == NM_STRIP_ACCENTS) {
                if (cat_major(cp, 'M'))
                    continue;
            } else {
                cp = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
            }
            if (put_cp(out, cp))
                return CC_ENOMEM;
        }
        return bytes_put(out, "", 0);
    case NM_BERT: {
        bytes *tmp = out;
        for (size_t i = 0; i < len;) {
            i += cp_at(in, len, i, &cp);
            if (st->clean_text) {
                if (cp == 0 || cp == 0xfffd)
                    continue;
                int c = utf8proc_category((utf8proc_int32_t)cp);
                int ws = cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' ||
                         c == UTF8PROC_CATEGORY_ZS;
                if (!ws && (c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF ||
                            c == UTF8PROC_CATEGORY_CS || c == UTF8PROC_CATEGORY_CO ||
                            c == UTF8PROC_CATEGORY_CN))
                    continue;
                if (ws)
                    cp = ' ';
            }
            int pad = st->chinese && is_cjk(cp);
            if ((pad && bytes_put(tmp, " ", 1)) || put_cp(tmp, cp) || (pad && bytes_put(tmp, " ", 1)))
                return CC_ENOMEM;
        }
        if (bytes_put(tmp, "", 0))
            return CC_ENOMEM;
        if (!st->strip_accents && !st->lowercase)
            return CC_OK;
        /* strip accents: NFD, then drop nonspacing marks; then lowercase */
        bytes *nfd = &w->key;
        nfd->len = 0;
        int rc = st->strip_accents ? normal_form(w, tmp->p, tmp->len, UTF8PROC_DECOMPOSE, nfd)
                                   : bytes_put(nfd, tmp->p, tmp->len);
        if (rc)
            return rc;
        out->len = 0;
        for (size_t i = 0; i < nfd->len;) {
            i += cp_at(nfd->p, nfd->len, i, &cp);
            if (st->strip_accents && utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_MN)
                continue;
            if (st->lowercase)
                cp = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
            if (put_cp(out, cp))
                return CC_ENOMEM;
        }
        return bytes_put(out, "", 0);
    }
    }
    return CC_EUNSUP;
}

/* Runs the normalizer over in[0..len); *res points at the result (in itself
 * when there is no normalizer). */
static int normalize(const hf_model *m, work *w, const char *in, size_t len, const char **res,
                     size_t *res_len)
{
    *res = in;
    *res_len = len;
    for (size_t i = 0; i < m->n_norm; i++) {
        bytes *out = &w->norm[i & 1];
        int rc = norm_one(w, &m->norm[i], *res, *res_len, out);
        if (rc)
            return rc;
        *res = out->p ? out->p : "";
        *res_len = out->len;
    }
    return CC_OK;
}

/* ==== pre-tokenizers ========================================================== */

static int push_piece(piece **arr, size_t *n, size_t *cap, size_t off, size_t len, bool first)
{
    if (!len)
        return CC_OK;
    if (cc_grow((void **)arr, cap, *n + 1, sizeof **arr))
        return CC_ENOMEM;
    (*arr)[(*n)++] = (piece){off, len, first};
    return CC_OK;
}

static int push_seg(work *w, size_t *n, size_t a, size_t b, bool match)
{
    if (a == b)
        return CC_OK;
    if (cc_grow((void **)&w->segs, &w->cap_segs, *n + 1, sizeof *w->segs))
        return CC_ENOMEM;
    w->segs[(*n)++] = (seg){a, b, match};
    return CC_OK;
}

/* Cuts piece p (text at w->buf + p.off) into segments: the matches of re,
 * or, when re is NULL, single characters for which pred holds. */
static int find_segs(work *w, const piece *p, regex_t *re, int (*pred)(uint32_t), size_t *nseg)
{
    const char *s = w->buf.p + p->off;
    size_t len = p->len, last = 0;
    *nseg = 0;
    if (re) {
        if (!w->region && !(w->region = onig_region_new()))
            return CC_ENOMEM;
        const UChar *us = (const UChar *)s, *end = us + len;
        size_t pos = 0;
        while (pos < len) {
            int r = onig_search(re, us, end, us + pos, end, w->region, ONIG_OPTION_NONE);
            if (r == ONIG_MISMATCH)
                break;
            if (r < 0)
                return CC_ERANGE; /* Oniguruma's backtracking limit */
            size_t a = (size_t)w->region->beg[0], b = (size_t)w->region->end[0];
            if (a == b) {
                uint32_t cp;
                if (a >= len)
                    break;
                pos = a + cp_at(s, len, a, &cp);
                continue;
            }
            if (push_seg(w, nseg, last, a, false) || push_seg(w, nseg, a, b, true))
                return CC_ENOMEM;
            last = pos = b;
        }
    } else {
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            size_t l = cp_at(s, len, i, &cp);
            if (pred(cp)) {
                if (push_seg(w, nseg, last, i, false) || push_seg(w, nseg, i, i + l, true))
                    return CC_ENOMEM;
                last = i + l;
            }
            i += l;
        }
    }
    return push_seg(w, nseg, last, len, false);
}

/* Emits the segments of piece p as pieces, as SplitDelimiterBehavior says. */
static int apply_behavior(work *w, const piece *p, size_t nseg, int behavior, bool invert,
                          piece **out, size_t *nout, size_t *cap)
{
    seg *sg = w->segs;
    if (invert)
        for (size_t i = 0; i < nseg; i++)
            sg[i].match = !sg[i].match;
    size_t base = p->off;
    bool first = p->first;
    for (size_t i = 0; i < nseg; i++) {
        size_t a = sg[i].a, b = sg[i].b;
        bool f = first && a == 0;
        switch (behavior) {
        case BEH_REMOVED:
            if (sg[i].match)
                continue;
            break;
        case BEH_ISOLATED:
            break;
        case BEH_MERGED_PREV:
            if (!sg[i].match && i + 1 < nseg && sg[i + 1].match)
                b = sg[++i].b;
            break;
        case BEH_MERGED_NEXT:
            if (sg[i].match && i + 1 < nseg && !sg[i + 1].match)
                b = sg[++i].b;
            break;
        case BEH_CONTIGUOUS:
            while (sg[i].match && i + 1 < nseg && sg[i + 1].match && sg[i + 1].a == b)
                b = sg[++i].b;
            break;
        }
        if (push_piece(out, nout, cap, base + a, b - a, f))
            return CC_ENOMEM;
    }
    return CC_OK;
}

static int pred_ws(uint32_t c) { return is_ws(c); }
static int pred_bert_punct(uint32_t c) { return is_punct_bert(c); }
static int pred_numeric(uint32_t c) { return is_numeric(c); }

/* Appends prefix + w->buf[p.off .. p.off+p.len) to the buffer; *p moves there. */
static int rebase_with_prefix(work *w, piece *p, const char *prefix, size_t plen)
{
    size_t off = w->buf.len;
    if (bytes_put(&w->buf, prefix, plen))
        return CC_ENOMEM;
    if (cc_grow((void **)&w->buf.p, &w->buf.cap, w->buf.len + p->len + 1, 1))
        return CC_ENOMEM;
    memcpy(w->buf.p + w->buf.len, w->buf.p + p->off, p->len);
    w->buf.len += p->len;
    p->off = off;
    p->len += plen;
    return CC_OK;
}

static int pretok_one(const pretok_step *st, work *w, piece p, piece **out, size_t *nout,
                      size_t *cap)
{
    size_t nseg;
    int rc;
    switch (st->kind) {
    case PT_SPLIT:
        if ((rc = find_segs(w, &p, st->re, NULL, &nseg)))
            return rc;
        return apply_behavior(w, &p, nseg, st->behavior, st->invert, out, nout, cap);
    case PT_BYTELEVEL:
        if (st->add_prefix_space && w->buf.p[p.off] != ' ' && (rc = rebase_with_prefix(w, &p, " ", 1)))
            return rc;
        if (!st->re)
            return push_piece(out, nout, cap, p.off, p.len, p.first);
        if ((rc = find_segs(w, &p, st->re, NULL, &nseg)))
            return rc;
        return apply_behavior(w, &p, nseg, BEH_ISOLATED, false, out, nout, cap);
    case PT_WHITESPACE:
        if ((rc = find_segs(w, &p, st->re, NULL, &nseg)))
            return rc;
        return apply_behavior(w, &p, nseg, BEH_REMOVED, true, out, nout, cap);
    case PT_WHITESPACE_SPLIT:
        if ((rc = find_segs(w, &p, NULL, pred_ws, &nseg)))
            return rc;
        return apply_behavior(w, &p, nseg, BEH_REMOVED, false, out, nout, cap);
    case PT_BERT: {
        /* whitespace removed, then each punctuation character isolated */
        size_t ntmp = 0;
        if ((rc = find_segs(w, &p, NULL, pred_ws, &nseg)) ||
            (rc = apply_behavior(w, &p, nseg, BEH_REMOVED, false, &w->pc, &ntmp, &w->cap_pc)))
            return rc;
        for (size_t i = 0; i < ntmp && !rc; i++)
            if (!(rc = find_segs(w, &w->pc[i], NULL, pred_bert_punct, &nseg)))
                rc = apply_behavior(w, &w->pc[i], nseg, BEH_ISOLATED, false, out, nout, cap);
        return rc;
    }
    case PT_DIGITS:
        if ((rc = find_segs(w, &p, NULL, pred_numeric, &nseg)))
            return rc;
        return apply_behavior(w, &p, nseg, st->individual_digits ? BEH_ISOLATED : BEH_CONTIGUOUS,
                              false, out, nout, cap);
    case PT_PUNCT:
        if ((rc = find_segs(w, &p, NULL, pred_bert_punct, &nseg)))
            return rc;
        return apply_behavior(w, &p, nseg, st->behavior, false, out, nout, cap);
    case PT_METASPACE: {
        /* spaces become the replacement; prepend it; split before each */
        size_t off = w->buf.len;
        bool prepend = st->prepend == PREPEND_ALWAYS || (st->prepend == PREPEND_FIRST && p.first);
        const char *ps = w->buf.p + p.off;
        if (prepend && ps[0] != ' ' && !(p.len >= st->repl_len && !memcmp(ps, st->repl, st->repl_len)))
            if (bytes_put(&w->buf, st->repl, st->repl_len))
                return CC_ENOMEM;
        for (size_t i = 0; i < p.len; i++) {
            char c = w->buf.p[p.off + i];
            if ((c == ' ' ? bytes_put(&w->buf, st->repl, st->repl_len) : bytes_put(&w->buf, &c, 1)))
                return CC_ENOMEM;
        }
        piece q = {off, w->buf.len - off, p.first};
        if (!st->split)
            return push_piece(out, nout, cap, q.off, q.len, q.first);
        /* the replacement is one character: split where it occurs */
        const char *s = w->buf.p + q.off;
        nseg = 0;
        size_t last = 0;
        for (size_t i = 0; i + st->repl_len <= q.len;) {
            if (!memcmp(s + i, st->repl, st->repl_len)) {
                if (push_seg(w, &nseg, last, i, false) || push_seg(w, &nseg, i, i + st->repl_len, true))
                    return CC_ENOMEM;
                last = i += st->repl_len;
            } else {
                uint32_t cp;
                i += cp_at(s, q.len, i, &cp);
            }
        }
        if (push_seg(w, &nseg, last, q.len, false))
            return CC_ENOMEM;
        return apply_behavior(w, &q, nseg, BEH_MERGED_NEXT, false, out, nout, cap);
    }
    }
    return CC_EUNSUP;
}

/* ==== models ============================================================== */

static int emit(uint32_t id, uint32_t **ids, size_t *n, size_t *cap)
{
    if (cc_grow((void **)ids, cap, *n + 1, sizeof **ids))
        return CC_ENOMEM;
    (*ids)[(*n)++] = id;
    return CC_OK;
}

static int heap_push(work *w, size_t *n, uint32_t rank, int32_t pos)
{
    if (cc_grow((void **)&w->heap, &w->cap_heap, *n + 1, sizeof *w->heap))
        return CC_ENOMEM;
    cand *h = w->heap;
    size_t i = (*n)++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (h[up].rank < rank || (h[up].rank == rank && h[up].pos < pos))
            break;
        h[i] = h[up];
        i = up;
    }
    h[i] = (cand){rank, pos};
    return CC_OK;
}

static cand heap_pop(work *w, size_t *n)
{
    cand *h = w->heap, top = h[0], x = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && (h[c + 1].rank < h[c].rank || (h[c + 1].rank == h[c].rank && h[c + 1].pos < h[c].pos)))
            c++;
        if (x.rank < h[c].rank || (x.rank == h[c].rank && x.pos < h[c].pos))
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = x;
    return top;
}

static const uint64_t *merge_of(const hf_model *m, uint32_t a, uint32_t b)
{
    return cc_u64map_get(&m->merges, ((uint64_t)a << 32) | b);
}

/* Looks up prefix? + unit + suffix? in the vocabulary. */
static int unit_id(const hf_model *m, work *w, const char *u, size_t n, bool first, bool last,
                   uint32_t *id)
{
    if ((first || !m->prefix_len) && (!last || !m->suffix_len))
        return vocab_find(&m->vocab, u, n, id);
    w->key.len = 0;
    if ((!first && bytes_put(&w->key, m->prefix, m->prefix_len)) || bytes_put(&w->key, u, n) ||
        (last && bytes_put(&w->key, m->suffix, m->suffix_len)))
        return CC_ENOMEM;
    return vocab_find(&m->vocab, w->key.p, w->key.len, id);
}

static int bpe_word(const hf_model *m, work *w, const char *s, size_t len, uint32_t **ids,
                    size_t *n, size_t *cap)
{
    uint32_t id;
    if (m->ignore_merges && vocab_find(&m->vocab, s, len, &id))
        return emit(id, ids, n, cap);
    /* initial symbols: bytes (byte-level) or characters */
    size_t ns = 0;
    bool last_unk = false;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = m->byte_level ? 1 : cp_at(s, len, i, &cp);
        bool first = i == 0, last = i + l == len;
        int found;
        if (m->byte_level && !m->prefix_len && !m->suffix_len) {
            found = m->byte_id[(unsigned char)s[i]] >= 0;
            id = found ? (uint32_t)m->byte_id[(unsigned char)s[i]] : 0;
        } else if ((found = unit_id(m, w, s + i, l, first, last, &id)) < 0) {
            return found;
        }
        if (cc_grow((void **)&w->syms, &w->cap_syms, ns + l + 1, sizeof *w->syms))
            return CC_ENOMEM;
        if (found) {
            w->syms[ns++] = (sym){id, 0, 0, false};
            last_unk = false;
        } else if (m->byte_fallback && !m->byte_level) {
            uint32_t bid[4];
            size_t k;
            char hex[8];
            for (k = 0; k < l; k++) {
                snprintf(hex, sizeof hex, "<0x%02X>", (unsigned char)s[i + k]);
                if (!vocab_find(&m->vocab, hex, 6, &bid[k]))
                    break;
            }
            if (k == l) {
                for (k = 0; k < l; k++)
                    w->syms[ns++] = (sym){bid[k], 0, 0, false};
                last_unk = false;
            } else if (m->has_unk && !(m->fuse_unk && last_unk)) {
                w->syms[ns++] = (sym){m->unk_id, 0, 0, false};
                last_unk = true;
            }
        } else if (m->has_unk) {
            if (!(m->fuse_unk && last_unk))
                w->syms[ns++] = (sym){m->unk_id, 0, 0, false};
            last_unk = true;
        }
        i += l;
    }
    for (size_t i = 0; i < ns; i++) {
        w->syms[i].prev = (int32_t)i - 1;
        w->syms[i].next = i + 1 < ns ? (int32_t)i + 1 : -1;
    }
    /* merges, lowest rank first, leftmost among equals */
    size_t nh = 0;
    for (size_t i = 0; i + 1 < ns; i++) {
        const uint64_t *mg = merge_of(m, w->syms[i].id, w->syms[i + 1].id);
        if (mg && heap_push(w, &nh, (uint32_t)(*mg >> 32), (int32_t)i))
            return CC_ENOMEM;
    }
    while (nh) {
        cand c = heap_pop(w, &nh);
        sym *a = &w->syms[c.pos];
        if (a->dead || a->next < 0)
            continue;
        sym *b = &w->syms[a->next];
        const uint64_t *mg = merge_of(m, a->id, b->id);
        if (!mg || (uint32_t)(*mg >> 32) != c.rank)
            continue; /* stale candidate */
        a->id = (uint32_t)*mg;
        b->dead = true;
        a->next = b->next;
        if (b->next >= 0)
            w->syms[b->next].prev = c.pos;
        if (a->prev >= 0 && (mg = merge_of(m, w->syms[a->prev].id, a->id)) &&
            heap_push(w, &nh, (uint32_t)(*mg >> 32), a->prev))
            return CC_ENOMEM;
        if (a->next >= 0 && (mg = merge_of(m, a->id, w->syms[a->next].id)) &&
            heap_push(w, &nh, (uint32_t)(*mg >> 32), c.pos))
            return CC_ENOMEM;
    }
    for (int32_t i = ns ? 0 : -1; i >= 0; i = w->syms[i].next)
        if (emit(w->syms[i].id, ids, n, cap))
            return CC_ENOMEM;
    return CC_OK;
}

static int wordpiece_word(const hf_model *m, work *w, const char *s, size_t len, uint32_t **ids,
                          size_t *n, size_t *cap)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; chars++) {
        uint32_t cp;
        i += cp_at(s, len, i, &cp);
    }
    if (chars > m->max_chars)
        return emit(m->unk_id, ids, n, cap);
    size_t n0 = *n;
    for (size_t start = 0; start < len;) {
        /* no entry is longer than max_len: start the search there */
        size_t end = len, room = m->vocab.max_len - (start ? m->prefix_len : 0);
        if (m->vocab.max_len < (start ? m->prefix_len : 0))
            room = 0;
        if (len - start > room) {
            end = start + room;
            while (end > start && ((unsigned char)s[end] & 0xc0) == 0x80)
                end--; /* back to a character boundary */
        }
        uint32_t id = 0;
        int found = 0;
        while (end > start) {
            w->key.len = 0;
            if ((start && bytes_put(&w->key, m->prefix, m->prefix_len)) ||
                bytes_put(&w->key, s + start, end - start))
                return CC_ENOMEM;
            if ((found = vocab_find(&m->vocab, w->key.p, w->key.len, &id)))
                break;
            end = cp_before(s, end);
        }
        if (!found) {
            *n = n0;
            return emit(m->unk_id, ids, n, cap);
        }
        if (emit(id, ids, n, cap))
            return CC_ENOMEM;
        start = end;
    }
    return CC_OK;
}

static int model_word(const hf_model *m, work *w, const char *s, size_t len, uint32_t **ids,
                      size_t *n, size_t *cap)
{
    uint32_t id;
    switch (m->type) {
    case MODEL_BPE: return bpe_word(m, w, s, len, ids, n, cap);
    case MODEL_WORDPIECE: return wordpiece_word(m, w, s, len, ids, n, cap);
    default:
        return emit(vocab_find(&m->vocab, s, len, &id) ? id : m->unk_id, ids, n, cap);
    }
}

/* ==== the pipeline ========================================================== */

/* Pre-tokenizes and encodes s[0..len) (normalized text, no added tokens). */
static int encode_words(const hf_model *m, work *w, const char *s, size_t len, bool first,
                        uint32_t **ids, size_t *n, size_t *cap)
{
    w->buf.len = 0;
    if (bytes_put(&w->buf, s, len))
        return CC_ENOMEM;
    size_t na = 0, nb = 0;
    if (push_piece(&w->pa, &na, &w->cap_pa, 0, len, first))
        return CC_ENOMEM;
    for (size_t k = 0; k < m->n_pretok; k++) {
        nb = 0;
        for (size_t i = 0; i < na; i++) {
            int rc = pretok_one(&m->pretok[k], w, w->pa[i], &w->pb, &nb, &w->cap_pb);
            if (rc)
                return rc;
        }
        piece *t = w->pa;
        w->pa = w->pb;
        w->pb = t;
        size_t tc = w->cap_pa;
        w->cap_pa = w->cap_pb;
        w->cap_pb = tc;
        na = nb;
    }
    for (size_t i = 0; i < na; i++) {
        int rc = model_word(m, w, w->buf.p + w->pa[i].off, w->pa[i].len, ids, n, cap);
        if (rc)
            return rc;
    }
    return CC_OK;
}

/* Finds the leftmost-longest added token of g in s[from..len); returns 1
 * with [*a, *b) the text it takes (lstrip/rstrip whitespace included). */
static int find_added(const hf_model *m, const added_group *g, const char *s, size_t len,
                      size_t from, size_t *a, size_t *b, uint32_t *id)
{
    if (!g->n)
        return 0;
    for (size_t i = from; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        for (uint32_t k = g->start[c]; k < g->start[c + 1]; k++) {
            const added_token *t = &m->added[g->idx[k]];
            if (t->len > len - i || memcmp(s + i, t->content, t->len))
                continue;
            size_t x = i, y = i + t->len;
            uint32_t cp;
            if (t->single_word) {
                if (x > 0 && (cp_at(s, len, cp_before(s, x), &cp), is_word_char(cp)))
                    continue;
                if (y < len && (cp_at(s, len, y, &cp), is_word_char(cp)))
                    continue;
            }
            if (t->lstrip)
                while (x > from && (cp_at(s, len, cp_before(s, x), &cp), is_ws(cp)))
                    x = cp_before(s, x);
            if (t->rstrip)
                while (y < len && (cp_at(s, len, y, &cp), is_ws(cp)))
                    y += cp_at(s, len, y, &cp);
            *a = x;
            *b = y;
            *id = t->id;
            return 1;
        }
    }
    return 0;
}

/* Text between raw added tokens: normalize, then normalized added tokens. */
static int encode_segment(const hf_model *m, work *w, const char *s, size_t len, bool first,
                          uint32_t **ids, size_t *n, size_t *cap)
{
    const char *t;
    size_t tl;
    int rc = normalize(m, w, s, len, &t, &tl);
    if (rc)
        return rc;
    size_t pos = 0, a, b;
    uint32_t id;
    while (find_added(m, &m->added_norm, t, tl, pos, &a, &b, &id)) {
        if ((a > pos && (rc = encode_words(m, w, t + pos, a - pos, first && pos == 0, ids, n, cap))) ||
            (rc = emit(id, ids, n, cap)))
            return rc;
        pos = b;
    }
    return pos < tl ? encode_words(m, w, t + pos, tl - pos, first && pos == 0, ids, n, cap) : CC_OK;
}

static int hf_encode_with(const hf_model *m, work *w, const char *text, size_t len,
                          uint32_t **ids, size_t *n, size_t *cap)
{
    size_t pos = 0, a, b;
    uint32_t id;
    int rc;
    while (find_added(m, &m->added_raw, text, len, pos, &a, &b, &id)) {
        if ((a > pos && (rc = encode_segment(m, w, text + pos, a - pos, pos == 0, ids, n, cap))) ||
            (rc = emit(id, ids, n, cap)))
            return rc;
        pos = b;
    }
    return pos < len ? encode_segment(m, w, text + pos, len - pos, pos == 0, ids, n, cap) : CC_OK;
}

static int hf_encode(const void *mv, const char *text, size_t len, uint32_t **ids, size_t *n,
                     size_t *cap)
{
    hf_model *m = (hf_model *)mv; /* only the guarded work buffers change */
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = cc_utf8_next((const unsigned char *)text + i, len - i, &cp);
        if (!l)
            return CC_EFORMAT;
        i += l;
    }
    size_t n0 = *n;
    int rc;
    if (pthread_mutex_trylock(&m->lock) == 0) {
        rc = hf_encode_with(m, &m->w, text, len, ids, n, cap);
        pthread_mutex_unlock(&m->lock);
    } else {
        work w = {0};
        rc = hf_encode_with(m, &w, text, len, ids, n, cap);
        work_free(&w);
    }
    if (rc)
        *n = n0; /* no partial output */
    return rc;
}

/* ==== loading =============================================================== */

typedef struct loader {
    const char *path;
    cc_err *err;
    hf_model *m;
} loader;

__attribute__((format(printf, 4, 0)))
static int bad(loader *L, int code, const char *field, const char *fmt, const char *a,
               const char *b)
{
    return cc_err_set(L->err, code, L->path, 0, field, fmt, a, b);
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Optional boolean (absent or null: def). */
static int get_bool(loader *L, const json_t *obj, const char *objpath, const char *key, bool def,
                    bool *out)
{
    json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v || json_is_null(v))
        return CC_OK;
    if (!json_is_boolean(v)) {
        char f[160];
        snprintf(f, sizeof f, "%s.%s", objpath, key);
        return bad(L, CC_EFORMAT, f, "expected true or false, found %s%s", json_type_name(v), "");
    }
    *out = json_is_true(v);
    return CC_OK;
}

/* Optional string (absent or null: *out = NULL). */
static int get_str(loader *L, const json_t *obj, const char *objpath, const char *key,
                   const char **out, size_t *len)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    *len = 0;
    if (!v || json_is_null(v))
        return CC_OK;
    if (!json_is_string(v)) {
        char f[160];
        snprintf(f, sizeof f, "%s.%s", objpath, key);
        return bad(L, CC_EFORMAT, f, "expected a string, found %s%s", json_type_name(v), "");
    }
    *out = json_string_value(v);
    *len = json_string_length(v);
    return CC_OK;
}

/* The "type" of a component object at path. */
static int get_type(loader *L, const json_t *obj, const char *path, const char **type)
{
    char f[160];
    snprintf(f, sizeof f, "%s.type", path);
    if (!json_is_object(obj))
        return bad(L, CC_EFORMAT, path, "expected an object or null, found %s%s", json_type_name(obj), "");
    json_t *t = json_object_get(obj, "type");
    if (!t || !json_is_string(t))
        return bad(L, CC_EFORMAT, f, "expected a string naming the %s type, found %s", path,
                   t ? json_type_name(t) : "nothing");
    *type = json_string_value(t);
    return CC_OK;
}

static int parse_behavior(loader *L, const json_t *obj, const char *path, int def, int *out)
{
    const char *s;
    size_t n;
    char f[160];
    int rc = get_str(L, obj, path, "behavior", &s, &n);
    if (rc)
        return rc;
    *out = def;
    if (!s)
        return CC_OK;
    static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                  "Contiguous"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return CC_OK;
        }
    snprintf(f, sizeof f, "%s.behavior", path);
    return bad(L, CC_EFORMAT, f, "'%s' is not one of Removed, Isolated, MergedWithPrevious, "
               "MergedWithNext, Contiguous%s", s, "");
}

/* {"String": s} or {"Regex": r} -> compiled regex */
static int parse_pattern(loader *L, const json_t *obj, const char *path, regex_t **re)
{
    char f[160], why[128];
    snprintf(f, sizeof f, "%s.pattern", path);
    json_t *p = json_object_get(obj, "pattern");
    if (!p || !json_is_object(p))
        return bad(L, CC_EFORMAT, f, "expected {\"String\": ...} or {\"Regex\": ...}, found %s%s",
                   p ? json_type_name(p) : "nothing", "");
    json_t *s = json_object_get(p, "String"), *r = json_object_get(p, "Regex");
    json_t *v = s ? s : r;
    if (!v || !json_is_string(v))
        return bad(L, CC_EFORMAT, f, "expected {\"String\": ...} or {\"Regex\": ...} with a string%s%s",
                   "", "");
    if (regex_compile(json_string_value(v), json_string_length(v), s != NULL, re, why, sizeof why))
        return bad(L, CC_EFORMAT, f, "the pattern does not compile: %s%s", why, "");
    return CC_OK;
}

typedef int (*add_step_fn)(loader *L, const json_t *obj, const char *path, size_t *cap,
                           int depth);

/* A "Sequence" normalizer or pre-tokenizer: each element of obj[key] added
 * in order by add (at most 8 Sequences deep). */
static int add_sequence(loader *L, const json_t *obj, const char *path, const char *key,
                        size_t *cap, int depth, add_step_fn add)
{
    char f[160];
    snprintf(f, sizeof f, "%s.%s", path, key);
    json_t *arr = json_object_get(obj, key);
    if (!json_is_array(arr))
        return bad(L, CC_EFORMAT, f, "expected an array, found %s%s",
                   arr ? json_type_name(arr) : "nothing", "");
    if (depth > 8)
        return bad(L, CC_ERANGE, f, "Sequence nested too deep%s%s", "", "");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char sub[160];
        snprintf(sub, sizeof sub, "%s.%s[%zu]", path, key, i);
        int rc = add(L, json_array_get(arr, i), sub, cap, depth + 1);
        if (rc)
            return rc;
    }
    return CC_OK;
}

static int add_norm(loader *L, const json_t *obj, const char *path, size_t *cap, int depth)
{
    hf_model *m = L->m;
    const char *type;
    int rc = get_type(L, obj, path, &type);
    if (rc)
        return rc;
    if (!strcmp(type, "Sequence"))
        return add_sequence(L, obj, path, "normalizers", cap, depth, add_norm);
    if (cc_grow((void **)&m->norm, cap, m->n_norm + 1, sizeof *m->norm))
        return CC_ENOMEM;
    norm_step *st = &m->norm[m->n_norm];
    memset(st, 0, sizeof *st);
    static const struct { const char *name; int kind; } simple[] = {
        {"NFC", NM_NFC}, {"NFD", NM_NFD}, {"NFKC", NM_NFKC}, {"NFKD", NM_NFKD},
        {"Lowercase", NM_LOWERCASE}, {"StripAccents", NM_STRIP_ACCENTS}};
    for (size_t i = 0; i < sizeof simple / sizeof *simple; i++)
        if (!strcmp(type, simple[i].name)) {
            st->kind = simple[i].kind;
            m->n_norm++;
            return CC_OK;
        }
    const char *s;
    size_t n;
    if (!strcmp(type, "BertNormalizer")) {
        st->kind = NM_BERT;
        json_t *sa = json_object_get(obj, "strip_accents");
        if ((rc = get_bool(L, obj, path, "clean_text", true, &st->clean_text)) ||
            (rc = get_bool(L, obj, path, "handle_chinese_chars", true, &st->chinese)) ||
            (rc = get_bool(L, obj, path, "lowercase", true, &st->lowercase)) ||
            (rc = get_bool(L, obj, path, "strip_accents", st->lowercase, &st->strip_accents)))
            return rc;
        (void)sa; /* null strip_accents follows lowercase, as in `tokenizers` */
    } else if (!strcmp(type, "Replace")) {
        st->kind = NM_REPLACE;
        if ((rc = parse_pattern(L, obj, path, &st->re)))
            return rc;
        m->n_norm++; /* owns the regex from here */
        if ((rc = get_str(L, obj, path, "content", &s, &n)))
            return rc;
        if (!s) {
            char f[160];
            snprintf(f, sizeof f, "%s.content", path);
            return bad(L, CC_EFORMAT, f, "missing: the replacement string%s%s", "", "");
        }
        if (!(st->content = malloc(n + 1)))
            return CC_ENOMEM;
        memcpy(st->content, s, n + 1);
        st->content_len = n;
        return CC_OK;
    } else if (!strcmp(type, "Prepend")) {
        st->kind = NM_PREPEND;
        if ((rc = get_str(L, obj, path, "prepend", &s, &n)))
            return rc;
        if (!s) {
            char f[160];
            snprintf(f, sizeof f, "%s.prepend", path);
            return bad(L, CC_EFORMAT, f, "missing: the string to prepend%s%s", "", "");
        }
        if (!(st->content = malloc(n + 1)))
            return CC_ENOMEM;
        memcpy(st->content, s, n + 1);
        st->content_len = n;
    } else if (!strcmp(type, "Strip")) {
        st->kind = NM_STRIP;
        if ((rc = get_bool(L, obj, path, "strip_left", true, &st->left)) ||
            (rc = get_bool(L, obj, path, "strip_right", true, &st->right)))
            return rc;
    } else {
        char f[160];
        snprintf(f, sizeof f, "%s.type", path);
        return bad(L, CC_EUNSUP, f, "normalizer '%s' is not supported (supported: NFC, NFD, NFKC, "
                   "NFKD, Lowercase, StripAccents, BertNormalizer, Replace, Prepend, Strip, "
                   "Sequence)%s", type, "");
    }
    m->n_norm++;
    return CC_OK;
}

/* GPT-2's split regex, which ByteLevel applies when use_regex is true. */
static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static int add_pretok(loader *L, const json_t *obj, const char *path, size_t *cap, int depth)
{
    hf_model *m = L->m;
    const char *type;
    char f[160], why[128];
    int rc = get_type(L, obj, path, &type);
    if (rc)
        return rc;
    if (!strcmp(type, "Sequence"))
        return add_sequence(L, obj, path, "pretokenizers", cap, depth, add_pretok);
    if (cc_grow((void **)&m->pretok, cap, m->n_pretok + 1, sizeof *m->pretok))
        return CC_ENOMEM;
    pretok_step *st = &m->pretok[m->n_pretok];
    memset(st, 0, sizeof *st);
    if (!strcmp(type, "Split")) {
        st->kind = PT_SPLIT;
        if ((rc = parse_pattern(L, obj, path, &st->re)))
            return rc;
        m->n_pretok++; /* owns the regex from here */
        if ((rc = parse_behavior(L, obj, path, BEH_ISOLATED, &st->behavior)) ||
            (rc = get_bool(L, obj, path, "invert", false, &st->invert)))
            return rc;
        return CC_OK;
    } else if (!strcmp(type, "ByteLevel")) {
        bool use_regex;
        st->kind = PT_BYTELEVEL;
        if ((rc = get_bool(L, obj, path, "add_prefix_space", true, &st->add_prefix_space)) ||
            (rc = get_bool(L, obj, path, "use_regex", true, &use_regex)))
            return rc;
        if (use_regex && regex_compile(gpt2_pattern, sizeof gpt2_pattern - 1, 0, &st->re, why, sizeof why))
            return bad(L, CC_EFORMAT, path, "internal regex: %s%s", why, "");
        m->byte_level = true;
    } else if (!strcmp(type, "BertPreTokenizer")) {
        st->kind = PT_BERT;
    } else if (!strcmp(type, "Whitespace")) {
        st->kind = PT_WHITESPACE;
        static const char ws[] = "\\w+|[^\\w\\s]+";
        if (regex_compile(ws, sizeof ws - 1, 0, &st->re, why, sizeof why))
            return bad(L, CC_EFORMAT, path, "internal regex: %s%s", why, "");
    } else if (!strcmp(type, "WhitespaceSplit")) {
        st->kind = PT_WHITESPACE_SPLIT;
    } else if (!strcmp(type, "Digits")) {
        st->kind = PT_DIGITS;
        if ((rc = get_bool(L, obj, path, "individual_digits", false, &st->individual_digits)))
            return rc;
    } else if (!strcmp(type, "Punctuation")) {
        st->kind = PT_PUNCT;
        if ((rc = parse_behavior(L, obj, path, BEH_ISOLATED, &st->behavior)))
            return rc;
    } else if (!strcmp(type, "Metaspace")) {
        const char *s;
        size_t n;
        bool add_prefix;
        st->kind = PT_METASPACE;
        if ((rc = get_str(L, obj, path, "replacement", &s, &n)) ||
            (rc = get_bool(L, obj, path, "split", true, &st->split)) ||
            (rc = get_bool(L, obj, path, "add_prefix_space", true, &add_prefix)))
            return rc;
        if (!s) {
            s = "\xe2\x96\x81"; /* U+2581 */
            n = 3;
        }
        uint32_t cp;
        if (n == 0 || n > 4 || cc_utf8_next((const unsigned char *)s, n, &cp) != n) {
            snprintf(f, sizeof f, "%s.replacement", path);
            return bad(L, CC_EFORMAT, f, "expected one character, found '%s'%s", s, "");
        }
        memcpy(st->repl, s, n);
        st->repl_len = n;
        st->prepend = add_prefix ? PREPEND_ALWAYS : PREPEND_NEVER;
        if ((rc = get_str(L, obj, path, "prepend_scheme", &s, &n)))
            return rc;
        if (s) {
            if (!strcmp(s, "always")) st->prepend = PREPEND_ALWAYS;
            else if (!strcmp(s, "first")) st->prepend = PREPEND_FIRST;
            else if (!strcmp(s, "never")) st->prepend = PREPEND_NEVER;
            else {
                snprintf(f, sizeof f, "%s.prepend_scheme", path);
                return bad(L, CC_EFORMAT, f, "'%s' is not one of always, first, never%s", s, "");
            }
        }
    } else {
        snprintf(f, sizeof f, "%s.type", path);
        return bad(L, CC_EUNSUP, f, "pre-tokenizer '%s' is not supported (supported: Split, "
                   "ByteLevel, BertPreTokenizer, Whitespace, WhitespaceSplit, Digits, "
                   "Punctuation, Metaspace, Sequence)%s", type, "");
    }
    m->n_pretok++;
    return CC_OK;
}

/* A vocabulary or merge string as the model sees it: byte-level strings are
 * mapped back to raw bytes.  Returns 0 when the string has a character
 * outside the byte alphabet (such an entry can never be produced). */
static int decode_token(const hf_model *m, const char *s, size_t n, bytes *out)
{
    out->len = 0;
    if (!m->byte_level)
        return bytes_put(out, s, n) ? CC_ENOMEM : 1;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = cc_utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (!l || cp >= 324 || m->cp_to_byte[cp] < 0)
            return 0;
        char b = (char)m->cp_to_byte[cp];
        if (bytes_put(out, &b, 1))
            return CC_ENOMEM;
        i += l;
    }
    return 1;
}

static int get_id(loader *L, const json_t *v, const char *field, const char *tok, uint32_t *id)
{
    if (!json_is_integer(v))
        return bad(L, CC_EFORMAT, field, "expected an integer id for '%.80s', found %s", tok,
                   json_type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < 0 || x > (json_int_t)HF_MAX_ID) {
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)x);
        return bad(L, CC_ERANGE, field, "id %s of '%.80s' is outside 0..2147483647", num, tok);
    }
    *id = (uint32_t)x;
    return CC_OK;
}

static int load_vocab(loader *L, const json_t *model)
{
    hf_model *m = L->m;
    json_t *v = json_object_get(model, "vocab");
    if (!v)
        return bad(L, CC_EFORMAT, "model.vocab", "missing: the token -> id map%s%s", "", "");
    if (!json_is_object(v))
        return bad(L, CC_EFORMAT, "model.vocab", "expected an object (token -> id), found %s%s",
                   json_type_name(v), "");
    m->model_entries = json_object_size(v);
    if (m->model_entries == 0)
        return bad(L, CC_EFORMAT, "model.vocab", "empty; expected at least one token%s%s", "", "");
    if (cc_u64map_init(&m->vocab.map, m->model_entries) || cc_u64map_init(&m->raw_extra.map, 16))
        return CC_ENOMEM;
    bytes tok = {0};
    const char *key;
    json_t *val;
    int rc = CC_OK;
    void *it;
    for (it = json_object_iter(v); it && !rc; it = json_object_iter_next(v, it)) {
        key = json_object_iter_key(it);
        val = json_object_iter_value(it);
        uint32_t id;
        char f[160];
        snprintf(f, sizeof f, "model.vocab[\"%.100s\"]", key);
        if ((rc = get_id(L, val, f, key, &id)))
            break;
        if (id + 1 > m->vocab_size)
            m->vocab_size = id + 1;
        int ok = decode_token(m, key, strlen(key), &tok);
        if (ok < 0)
            rc = ok;
        else if ((rc = ok ? vocab_add(&m->vocab, tok.p ? tok.p : "", tok.len, id)
                          : vocab_add(&m->raw_extra, key, strlen(key), id)) >= 0)
            rc = CC_OK;
        else if (rc == CC_EUNSUP)
            rc = bad(L, CC_EUNSUP, f, "hash collision between two tokens%s%s", "", "");
    }
    free(tok.p);
    return rc;
}

/* Splits merge i into its two parts; both point into the JSON document. */
static int merge_parts(loader *L, const json_t *it, size_t i, const char **a, size_t *al,
                       const char **b, size_t *bl)
{
    char f[64];
    snprintf(f, sizeof f, "model.merges[%zu]", i);
    if (json_is_string(it)) {
        const char *s = json_string_value(it);
        size_t n = json_string_length(it);
        const char *sp = memchr(s, ' ', n);
        if (!sp || sp == s || sp + 1 == s + n || memchr(sp + 1, ' ', (size_t)(s + n - sp - 1)))
            return bad(L, CC_EFORMAT, f, "expected \"left right\" (two tokens, one space), found "
                       "'%.80s'%s", s, "");
        *a = s;
        *al = (size_t)(sp - s);
        *b = sp + 1;
        *bl = (size_t)(s + n - sp - 1);
        return CC_OK;
    }
    if (json_is_array(it) && json_array_size(it) == 2 && json_is_string(json_array_get(it, 0)) &&
        json_is_string(json_array_get(it, 1))) {
        *a = json_string_value(json_array_get(it, 0));
        *al = json_string_length(json_array_get(it, 0));
        *b = json_string_value(json_array_get(it, 1));
        *bl = json_string_length(json_array_get(it, 1));
        return CC_OK;
    }
    return bad(L, CC_EFORMAT, f, "expected \"left right\" or [\"left\", \"right\"], found %s%s",
               json_type_name(it), "");
}

static int load_merges(loader *L, const json_t *model)
{
    hf_model *m = L->m;
    json_t *arr = json_object_get(model, "merges");
    if (!arr)
        return bad(L, CC_EFORMAT, "model.merges", "missing: the ranked list of merges%s%s", "", "");
    if (!json_is_array(arr))
        return bad(L, CC_EFORMAT, "model.merges", "expected an array, found %s%s",
                   json_type_name(arr), "");
    if (cc_u64map_init(&m->merges, json_array_size(arr)))
        return CC_ENOMEM;
    bytes ta = {0}, tb = {0}, tab = {0}, tdec = {0};
    int rc = CC_OK;
    for (size_t i = 0; i < json_array_size(arr) && !rc; i++) {
        const char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        char f[64];
        snprintf(f, sizeof f, "model.merges[%zu]", i);
        if ((rc = merge_parts(L, json_array_get(arr, i), i, &a, &al, &b, &bl)))
            break;
        /* merged token: a + b, less b's continuing prefix */
        size_t skip = m->prefix_len && bl >= m->prefix_len && !memcmp(b, m->prefix, m->prefix_len)
                          ? m->prefix_len : 0;
        tab.len = 0;
        if (bytes_put(&tab, a, al) || bytes_put(&tab, b + skip, bl - skip)) {
            rc = CC_ENOMEM;
            break;
        }
        uint32_t ida, idb, idab;
        int da = decode_token(m, a, al, &ta), db = decode_token(m, b, bl, &tb);
        int dab = decode_token(m, tab.p, tab.len, &tdec);
        if (da < 0 || db < 0 || dab < 0) {
            rc = CC_ENOMEM;
            break;
        }
        char left[96], right[96];
        snprintf(left, sizeof left, "%.*s", (int)(al < 80 ? al : 80), a);
        snprintf(right, sizeof right, "%.*s", (int)(bl < 80 ? bl : 80), b);
        if (!da || !vocab_find(&m->vocab, ta.p ? ta.p : "", ta.len, &ida))
            rc = bad(L, CC_EFORMAT, f, "merge '%s' + '%s': the left token is not in model.vocab",
                     left, right);
        else if (!db || !vocab_find(&m->vocab, tb.p ? tb.p : "", tb.len, &idb))
            rc = bad(L, CC_EFORMAT, f, "merge '%s' + '%s': the right token is not in model.vocab",
                     left, right);
        else if (!dab || !vocab_find(&m->vocab, tdec.p ? tdec.p : "", tdec.len, &idab))
            rc = bad(L, CC_EFORMAT, f, "merge '%s' + '%s': the merged token is not in model.vocab",
                     left, right);
        else {
            uint64_t *slot;
            int r = cc_u64map_put(&m->merges, ((uint64_t)ida << 32) | idb,
                                  ((uint64_t)i << 32) | idab, &slot);
            if (r < 0)
                rc = r; /* a repeated pair keeps its first (lowest) rank */
        }
    }
    free(ta.p);
    free(tb.p);
    free(tab.p);
    free(tdec.p);
    return rc;
}

static int copy_str(const char *s, size_t n, char **out, size_t *len)
{
    if (!(*out = malloc(n + 1)))
        return CC_ENOMEM;
    memcpy(*out, s, n);
    (*out)[n] = '\0';
    *len = n;
    return CC_OK;
}

static int load_model(loader *L, const json_t *root)
{
    hf_model *m = L->m;
    json_t *model = json_object_get(root, "model");
    if (!model)
        return bad(L, CC_EFORMAT, "model", "missing: the tokenizer model object%s%s", "", "");
    if (!json_is_object(model))
        return bad(L, CC_EFORMAT, "model", "expected an object, found %s%s", json_type_name(model), "");
    const char *type, *s;
    size_t n;
    int rc = get_str(L, model, "model", "type", &type, &n);
    if (rc)
        return rc;
    if (!type) /* untagged, as `tokenizers` accepts: infer from the fields */
        type = json_object_get(model, "merges") ? "BPE"
               : json_object_get(model, "max_input_chars_per_word") ? "WordPiece"
               : json_object_get(model, "vocab") && json_is_object(json_object_get(model, "vocab"))
                   ? "WordLevel" : "(none)";
    if (!strcmp(type, "BPE"))
        m->type = MODEL_BPE;
    else if (!strcmp(type, "WordPiece"))
        m->type = MODEL_WORDPIECE;
    else if (!strcmp(type, "WordLevel"))
        m->type = MODEL_WORDLEVEL;
    else
        return bad(L, CC_EUNSUP, "model.type", "model '%s' is not supported (supported: BPE, "
                   "WordPiece, WordLevel)%s", type, "");
    if (m->type != MODEL_BPE)
        m->byte_level = false; /* ByteLevel only changes BPE's alphabet */

    if ((rc = load_vocab(L, model)))
        return rc;
    if ((rc = get_str(L, model, "model", "continuing_subword_prefix", &s, &n)))
        return rc;
    if (m->type == MODEL_WORDPIECE && !s) {
        s = "##";
        n = 2;
    }
    if (s && n && (rc = copy_str(s, n, &m->prefix, &m->prefix_len)))
        return rc;
    if (m->type == MODEL_BPE) {
        if ((rc = get_str(L, model, "model", "end_of_word_suffix", &s, &n)))
            return rc;
        if (s && n && (rc = copy_str(s, n, &m->suffix, &m->suffix_len)))
            return rc;
        if (m->byte_level) {
            bytes t = {0};
            if (m->prefix_len && decode_token(m, m->prefix, m->prefix_len, &t) == 1) {
                memcpy(m->prefix, t.p, t.len);
                m->prefix_len = t.len;
            }
            if (m->suffix_len && decode_token(m, m->suffix, m->suffix_len, &t) == 1) {
                memcpy(m->suffix, t.p, t.len);
                m->suffix_len = t.len;
            }
            free(t.p);
        }
        if ((rc = get_bool(L, model, "model", "ignore_merges", false, &m->ignore_merges)) ||
            (rc = get_bool(L, model, "model", "fuse_unk", false, &m->fuse_unk)) ||
            (rc = get_bool(L, model, "model", "byte_fallback", false, &m->byte_fallback)) ||
            (rc = load_merges(L, model)))
            return rc;
        for (int b = 0; b < 256; b++) {
            char c = (char)b;
            uint32_t id;
            m->byte_id[b] = vocab_find(&m->vocab, &c, 1, &id) ? (int32_t)id : -1;
        }
    } else if (m->type == MODEL_WORDPIECE) {
        json_t *mx = json_object_get(model, "max_input_chars_per_word");
        m->max_chars = 100;
        if (mx && !json_is_null(mx)) {
            if (!json_is_integer(mx) || json_integer_value(mx) < 0)
                return bad(L, CC_EFORMAT, "model.max_input_chars_per_word",
                           "expected a non-negative integer, found %s%s", json_type_name(mx), "");
            json_int_t x = json_integer_value(mx);
            m->max_chars = x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
        }
    }
    /* unk_token: required by WordPiece and WordLevel; BPE drops unknown
     * characters when it has none (or names one missing from the vocab) */
    if ((rc = get_str(L, model, "model", "unk_token", &s, &n)))
        return rc;
    if (s && vocab_find(&m->vocab, s, n, &m->unk_id))
        m->has_unk = true;
    if (m->type != MODEL_BPE && !m->has_unk)
        return bad(L, CC_EFORMAT, "model.unk_token", s ? "'%s' is not in model.vocab%s"
                                                       : "missing: %s needs an unknown token%s",
                   s ? s : type, "");
    return CC_OK;
}

/* The id of an added token, assigned as `tokenizers` assigns it when it
 * reads the file (the "id" field is not used): the id of an earlier added
 * token with the same text, else the model's id for the text, else the next
 * free id (the number of model.vocab entries, or one past the largest added
 * id when that is larger).  Files written by `tokenizers` agree with their
 * "id" fields. */
static int resolve_added_id(hf_model *m, vocab *seen, const char *s, size_t n,
                            int64_t *max_added, uint32_t *id)
{
    bytes dec = {0};
    int found = vocab_find(seen, s, n, id), rc = CC_OK;
    if (!found && m->type == MODEL_BPE && m->byte_level) {
        int ok = decode_token(m, s, n, &dec);
        if (ok < 0)
            rc = ok;
        else
            found = ok ? vocab_find(&m->vocab, dec.p ? dec.p : "", dec.len, id)
                       : vocab_find(&m->raw_extra, s, n, id);
    } else if (!found) {
        found = vocab_find(&m->vocab, s, n, id);
    }
    free(dec.p);
    if (rc)
        return rc;
    if (!found) {
        uint64_t size = m->model_entries;
        uint64_t next = *max_added < 0 ? size
                        : ((uint64_t)*max_added >= size || size == 0) ? (uint64_t)*max_added + 1 : size;
        if (next > HF_MAX_ID)
            return CC_ERANGE;
        *id = (uint32_t)next;
    }
    if (*max_added < (int64_t)*id)
        *max_added = *id;
    return vocab_add(seen, s, n, *id) < 0 ? CC_ENOMEM : CC_OK;
}

static int load_added(loader *L, const json_t *root)
{
    hf_model *m = L->m;
    json_t *arr = json_object_get(root, "added_tokens");
    if (!arr || json_is_null(arr))
        return CC_OK;
    if (!json_is_array(arr))
        return bad(L, CC_EFORMAT, "added_tokens", "expected an array, found %s%s",
                   json_type_name(arr), "");
    size_t cnt = json_array_size(arr);
    if (!(m->added = calloc(cnt ? cnt : 1, sizeof *m->added)) ||
        !(m->added_raw.idx = calloc(cnt ? cnt : 1, sizeof *m->added_raw.idx)) ||
        !(m->added_norm.idx = calloc(cnt ? cnt : 1, sizeof *m->added_norm.idx)))
        return CC_ENOMEM;
    work w = {0};
    vocab seen = {0};
    int64_t max_added = -1;
    int rc = cc_u64map_init(&seen.map, cnt) ? CC_ENOMEM : CC_OK;
    for (size_t i = 0; i < cnt && !rc; i++) {
        json_t *t = json_array_get(arr, i);
        char path[64], f[96];
        snprintf(path, sizeof path, "added_tokens[%zu]", i);
        if (!json_is_object(t)) {
            rc = bad(L, CC_EFORMAT, path, "expected an object, found %s%s", json_type_name(t), "");
            break;
        }
        added_token *a = &m->added[m->n_added];
        const char *s;
        size_t n;
        bool special;
        snprintf(f, sizeof f, "%s.id", path);
        json_t *idv = json_object_get(t, "id");
        if ((rc = get_str(L, t, path, "content", &s, &n)))
            break;
        if (!s) {
            snprintf(f, sizeof f, "%s.content", path);
            rc = bad(L, CC_EFORMAT, f, "missing: the token's text%s%s", "", "");
            break;
        }
        if (!idv) {
            rc = bad(L, CC_EFORMAT, f, "missing: the id of '%.80s'%s", s, "");
            break;
        }
        if ((rc = get_id(L, idv, f, s, &a->id)) ||
            (rc = get_bool(L, t, path, "special", false, &special)) ||
            (rc = get_bool(L, t, path, "single_word", false, &a->single_word)) ||
            (rc = get_bool(L, t, path, "lstrip", false, &a->lstrip)) ||
            (rc = get_bool(L, t, path, "rstrip", false, &a->rstrip)) ||
            (rc = get_bool(L, t, path, "normalized", !special, &a->normalized)))
            break;
        if (n == 0)
            continue; /* an empty token is ignored */
        if ((rc = resolve_added_id(m, &seen, s, n, &max_added, &a->id)))
            break;
        if (a->id + 1 > m->vocab_size)
            m->vocab_size = a->id + 1;
        if (a->normalized) { /* matched against normalized text: normalize it too */
            const char *ns;
            size_t nl;
            if ((rc = normalize(m, &w, s, n, &ns, &nl)))
                break;
            if (!nl)
                continue;
            s = ns;
            n = nl;
        }
        if ((rc = copy_str(s, n, &a->content, &a->len)))
            break;
        m->n_added++;
    }
    work_free(&w);
    vocab_free(&seen);
    if (rc)
        return rc;
    /* bucket by first byte, longest first within a bucket, so that the
     * first match at a position is the longest */
    for (int grp = 0; grp < 2; grp++) {
        added_group *g = grp ? &m->added_norm : &m->added_raw;
        uint32_t count[256] = {0};
        for (size_t i = 0; i < m->n_added; i++)
            if (m->added[i].normalized == (grp == 1))
                count[(unsigned char)m->added[i].content[0]]++;
        g->start[0] = 0;
        for (int c = 0; c < 256; c++)
            g->start[c + 1] = g->start[c] + count[c];
        uint32_t fill[256];
        memcpy(fill, g->start, sizeof fill);
        for (size_t i = 0; i < m->n_added; i++) {
            if (m->added[i].normalized != (grp == 1))
                continue;
            unsigned char c = (unsigned char)m->added[i].content[0];
            uint32_t j = fill[c]++;
            while (j > g->start[c] && m->added[g->idx[j - 1]].len < m->added[i].len) {
                g->idx[j] = g->idx[j - 1];
                j--;
            }
            g->idx[j] = (uint32_t)i;
        }
        g->n = g->start[256];
    }
    return CC_OK;
}

int cc_tokenizer_load_hf(const char *path, cc_tokenizer **out, cc_err *err)
{
    *out = NULL;
    cc_err_clear(err);
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(err, CC_EIO, path, 0, "", "cannot open the tokenizer file");
    json_error_t je;
    json_t *root = json_loadf(f, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (!root)
        return cc_err_set(err, CC_EFORMAT, path, je.line > 0 ? je.line : 0, "",
                          "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
    hf_model *m = calloc(1, sizeof *m);
    if (!m) {
        json_decref(root);
        return cc_err_set(err, CC_ENOMEM, path, 0, "", "out of memory");
    }
    pthread_mutex_init(&m->lock, NULL);
    byte_table(m->byte_to_cp, m->cp_to_byte);
    loader L = {path, err, m};
    int rc = CC_OK;
    size_t cap_norm = 0, cap_pretok = 0;
    json_t *v;
    if (!json_is_object(root)) {
        rc = bad(&L, CC_EFORMAT, "", "expected a JSON object at the top, found %s%s",
                 json_type_name(root), "");
        goto done;
    }
    /* pre-tokenizer first: it decides whether the model is byte-level */
    if ((v = json_object_get(root, "pre_tokenizer")) && !json_is_null(v) &&
        (rc = add_pretok(&L, v, "pre_tokenizer", &cap_pretok, 0)))
        goto done;
    if ((v = json_object_get(root, "normalizer")) && !json_is_null(v) &&
        (rc = add_norm(&L, v, "normalizer", &cap_norm, 0)))
        goto done;
    if ((rc = load_model(&L, root)) || (rc = load_added(&L, root)))
        goto done;

done:
    json_decref(root);
    if (rc) {
        if (err && !err->msg[0]) /* failures below the field checks */
            cc_err_set(err, rc, path, 0, "", "%s", rc == CC_ENOMEM ? "out of memory"
                       : rc == CC_ERANGE ? "an id is past 2147483647" : "cannot load");
        model_free(m);
        return rc;
    }
    char name[64];
    const char *base = strrchr(path, '/');
    snprintf(name, sizeof name, "hf-%s:%s",
             m->type == MODEL_BPE ? "bpe" : m->type == MODEL_WORDPIECE ? "wordpiece" : "wordlevel",
             base ? base + 1 : path);
    return cc_tokenizer_wrap(name, m->vocab_size, m, model_free, hf_encode, out);
}
