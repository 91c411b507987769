/*
 * textread.c -- shared machinery of the text-dataset readers (see textread.h):
 * loading a file, walking its JSON records with line numbers, typed field
 * access with located errors, and the builder that turns texts into requests
 * (arena text stored once, token ids, block hash chains).
 *
 * Why records are decoded one at a time: jansson decodes a value from a
 * buffer and, with JSON_DISABLE_EOF_CHECK, reports how many bytes it used.
 * Walking the top-level array ourselves (only whitespace, ',' and the
 * brackets between records) lets us keep memory per record, and lets every
 * error carry an absolute line: the walker counts newlines as it advances.
 * Cost: each byte is looked at by jansson once and by the newline count once.
 */
#include "textread.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JSON_FLAGS_RECORD (JSON_REJECT_DUPLICATES)

/* ---- the file -------------------------------------------------------------- */

int cc_text_file_load(cc_text_file *f, const char *path, cc_err *e)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(errno));
    size_t cap = 0, len = 0;
    char *buf = NULL;
    for (;;) {
        if (cc_grow((void **)&buf, &cap, len + 65536 + 1, 1)) {
            free(buf);
            fclose(fp);
            return cc_err_set(e, CC_ENOMEM, path, 0, NULL, "out of memory reading the file");
        }
        size_t got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(fp);
    int saved = errno;
    fclose(fp);
    if (bad) {
        free(buf);
        return cc_err_set(e, CC_EIO, path, 0, NULL, "read failed: %s", strerror(saved));
    }
    buf[len] = '\0';
    f->buf = buf;
    f->len = len;
    if (len == 0)
        return cc_err_set(e, CC_EFORMAT, path, 1, "record",
                          "file is empty; expected JSON records");
    const char *nul = memchr(buf, '\0', len);
    if (nul) {
        long line = 1;
        for (const char *p = buf; p < nul; p++)
            line += *p == '\n';
        return cc_err_set(e, CC_EFORMAT, path, line, "record",
                          "binary data (a NUL byte at offset %zu); expected JSON text",
                          (size_t)(nul - buf));
    }
    return CC_OK;
}

void cc_text_file_free(cc_text_file *f)
{
    free(f->buf);
    memset(f, 0, sizeof *f);
}

/* ---- walking records ---------------------------------------------------------- */

/* Moves the cursor to byte `to`, counting the newlines passed. */
static void advance_to(cc_json_records *it, size_t to)
{
    const char *buf = it->f->buf, *p = buf + it->pos, *end = buf + to;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
        it->line++;
        it->line_start = (size_t)(p - buf) + 1;
        p++;
    }
    it->pos = to;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(cc_json_records *it)
{
    size_t p = it->pos;
    while (p < it->f->len && is_ws(it->f->buf[p]))
        p++;
    advance_to(it, p);
}

/* "'x'" for a printable byte, "byte 0xNN" otherwise. */
static const char *describe_byte(unsigned char c, char *buf, size_t len)
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, len, "'%c'", c);
    else
        snprintf(buf, len, "byte 0x%02x", c);
    return buf;
}

static int fail_here(cc_json_records *it, cc_err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_here(cc_json_records *it, cc_err *e, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cc_err_set(e, CC_EFORMAT, it->f->path, it->line, "record", "column %zu: %s",
                      it->pos - it->line_start + 1, msg);
}

int cc_json_records_open(cc_json_records *it, const cc_text_file *f, int jsonl, cc_err *e)
{
    memset(it, 0, sizeof *it);
    it->f = f;
    it->jsonl = jsonl;
    it->line = 1;
    if (f->len >= 3 && memcmp(f->buf, "\xef\xbb\xbf", 3) == 0)
        it->pos = 3; /* a UTF-8 byte-order mark is not part of the JSON */
    if (jsonl)
        return CC_OK;
    skip_ws(it);
    if (it->pos == f->len)
        return cc_err_set(e, CC_EFORMAT, f->path, 1, "record",
                          "file holds only whitespace; expected a JSON array of records");
    if (f->buf[it->pos] != '[') {
        char d[16];
        return fail_here(it, e, "found %s; expected a JSON array of records ('[')",
                         describe_byte((unsigned char)f->buf[it->pos], d, sizeof d));
    }
    advance_to(it, it->pos + 1);
    return CC_OK;
}

/* The member path ("conversations[2].value") at byte `upto` of the record
 * text s, for naming the field of a syntax error; "record" when the error
 * lies outside any member.  Only brackets, strings, ':' and ',' are tracked:
 * good enough to point at the place, not a parser. */
static void path_at(const char *s, size_t upto, char *out, size_t out_len)
{
    enum { MAXD = 16 };
    struct { char is_obj, in_value; long idx; char key[40]; } st[MAXD];
    int depth = 0; /* frames in use (deeper ones are counted, not kept) */
    for (size_t i = 0; i < upto; i++) {
        char c = s[i];
        if (c == '"') {
            size_t j = i + 1;
            while (j < upto && s[j] != '"')
                j += s[j] == '\\' ? 2 : 1;
            if (j < upto && depth > 0 && depth <= MAXD && st[depth - 1].is_obj &&
                !st[depth - 1].in_value) {
                size_t n = j - (i + 1);
                if (n >= sizeof st[0].key)
                    n = sizeof st[0].key - 1;
                memcpy(st[depth - 1].key, s + i + 1, n);
                st[depth - 1].key[n] = '\0';
            }
            i = j;
        } else if (c == '{' || c == '[') {
            if (depth < MAXD) {
                st[depth].is_obj = c == '{';
                st[depth].in_value = 0;
                st[depth].idx = 0;
                st[depth].key[0] = '\0';
            }
            depth++;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        } else if (c == ':' && depth > 0 && depth <= MAXD) {
            st[depth - 1].in_value = 1;
        } else if (c == ',' && depth > 0 && depth <= MAXD) {
            st[depth - 1].in_value = 0;
            st[depth - 1].idx++;
            st[depth - 1].key[0] = '\0';
        }
    }
    size_t used = 0;
    out[0] = '\0';
    for (int d = 0; d < depth && d < MAXD && used < out_len; d++) {
        int n = 0;
        if (st[d].is_obj && st[d].key[0])
            n = snprintf(out + used, out_len - used, "%s%s", used ? "." : "", st[d].key);
        else if (!st[d].is_obj)
            n = snprintf(out + used, out_len - used, "[%ld]", st[d].idx);
        if (n < 0)
            break;
        used += (size_t)n;
        if (st[d].is_obj && !st[d].key[0])
            break;
    }
    if (!out[0] || out[0] == '[')
        snprintf(out, out_len, "record");
}

/* Decodes the record at the cursor (n bytes available). */
static int decode_at(cc_json_records *it, size_t n, size_t flags, json_t **rec, cc_err *e)
{
    json_error_t je;
    it->rec_line = it->line;
    size_t col0 = it->pos - it->line_start;
    json_t *j = json_loadb(it->f->buf + it->pos, n, flags, &je);
    long rec_no = it->index + 1;
    if (!j) {
        long line = je.line > 0 ? it->line + je.line - 1 : it->line;
        long col = (je.column > 0 ? je.column : 1) + (je.line <= 1 ? (long)col0 : 0);
        const char *kind = json_error_code(&je) == json_error_invalid_utf8
                               ? "invalid UTF-8"
                               : "invalid JSON";
        char field[128];
        size_t at = je.position > 0 ? (size_t)je.position : 0; /* just past the error */
        path_at(it->f->buf + it->pos, at < n ? at : n, field, sizeof field);
        return cc_err_set(e, CC_EFORMAT, it->f->path, line, field,
                          "record %ld: %s at column %ld: %s", rec_no, kind, col, je.text);
    }
    if (!json_is_object(j)) {
        int rc = cc_err_set(e, CC_EFORMAT, it->f->path, it->rec_line, "record",
                            "record %ld is %s; expected a JSON object", rec_no,
                            cc_json_type_name(j));
        json_decref(j);
        return rc;
    }
    *rec = j;
    it->index++;
    return (int)je.position; /* callers of the array walker use it; >= 2 for "{}" */
}

static int next_jsonl(cc_json_records *it, json_t **rec, cc_err *e)
{
    const char *buf = it->f->buf;
    while (it->pos < it->f->len) {
        const char *nl = memchr(buf + it->pos, '\n', it->f->len - it->pos);
        size_t end = nl ? (size_t)(nl - buf) : it->f->len;
        size_t n = end - it->pos;
        size_t k = 0;
        while (k < n && is_ws(buf[it->pos + k]))
            k++;
        if (k == n) {
            if (!it->first_blank)
                it->first_blank = it->line;
            advance_to(it, nl ? end + 1 : end);
            continue;
        }
        if (it->first_blank)
            return cc_err_set(e, CC_EFORMAT, it->f->path, it->first_blank, "record",
                              "blank line inside the file; expected one JSON object per line "
                              "(blank lines are allowed only at the end)");
        int rc = decode_at(it, n, JSON_FLAGS_RECORD, rec, e);
        if (rc < 0)
            return rc;
        advance_to(it, nl ? end + 1 : end);
        return 1;
    }
    it->state = 2;
    return 0;
}

static int close_array(cc_json_records *it, cc_err *e)
{
    advance_to(it, it->pos + 1); /* past ']' */
    skip_ws(it);
    it->state = 2;
    if (it->pos < it->f->len) {
        char d[16];
        return fail_here(it, e, "found %s after the closing ']'; expected the end of the file",
                         describe_byte((unsigned char)it->f->buf[it->pos], d, sizeof d));
    }
    return 0;
}

int cc_json_records_next(cc_json_records *it, json_t **rec, cc_err *e)
{
    *rec = NULL;
    if (it->state == 2)
        return 0;
    if (it->jsonl)
        return next_jsonl(it, rec, e);
    const char *buf = it->f->buf;
    char d[16];
    skip_ws(it);
    if (it->pos == it->f->len)
        return fail_here(it, e, "the file ends inside the array (after %ld records); expected "
                         "%s (truncated file?)", it->index,
                         it->state == 0 ? "a record or ']'" : "',' or ']'");
    if (it->state == 0 && buf[it->pos] == ']')
        return close_array(it, e);
    if (it->state == 1) {
        if (buf[it->pos] == ']')
            return close_array(it, e);
        if (buf[it->pos] != ',')
            return fail_here(it, e, "found %s after record %ld; expected ',' or ']'",
                             describe_byte((unsigned char)buf[it->pos], d, sizeof d), it->index);
        advance_to(it, it->pos + 1);
        skip_ws(it);
        if (it->pos == it->f->len)
            return fail_here(it, e, "the file ends after ','; expected record %ld "
                             "(truncated file?)", it->index + 1);
        if (buf[it->pos] == ']')
            return fail_here(it, e, "found ']' after ','; expected record %ld (JSON allows no "
                             "trailing comma)", it->index + 1);
    }
    int used = decode_at(it, it->f->len - it->pos,
                         JSON_FLAGS_RECORD | JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, rec, e);
    if (used < 0)
        return used;
    advance_to(it, it->pos + (size_t)used);
    it->state = 1;
    return 1;
}

/* ---- typed access ------------------------------------------------------------- */

const char *cc_json_type_name(const json_t *v)
{
    if (!v)
        return "absent";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown value";
}

int cc_json_fail(const cc_json_records *it, cc_err *e, int code, const char *field,
                 const char *fmt, ...)
{
    char msg[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cc_err_set(e, code, it->f->path, it->rec_line, field, "record %ld: %s", it->index,
                      msg);
}

static int want_type(const cc_json_records *it, const json_t *v, const char *field, int ok,
                     const char *what, cc_err *e)
{
    if (!v)
        return cc_json_fail(it, e, CC_EFORMAT, field, "missing field '%s'; expected %s", field,
                            what);
    if (!ok)
        return cc_json_fail(it, e, CC_EFORMAT, field, "'%s' is %s; expected %s", field,
                            cc_json_type_name(v), what);
    return CC_OK;
}

int cc_json_want_string(const cc_json_records *it, const json_t *v, const char *field,
                        const char **s, size_t *len, cc_err *e)
{
    int rc = want_type(it, v, field, json_is_string(v), "a string", e);
    if (rc)
        return rc;
    *s = json_string_value(v);
    *len = json_string_length(v);
    return CC_OK;
}

int cc_json_want_array(const cc_json_records *it, const json_t *v, const char *field,
                       cc_err *e)
{
    return want_type(it, v, field, json_is_array(v), "an array", e);
}

int cc_json_want_object(const cc_json_records *it, const json_t *v, const char *field,
                        cc_err *e)
{
    return want_type(it, v, field, json_is_object(v), "an object", e);
}

/* ---- the builder ---------------------------------------------------------------- */

uint64_t cc_text_default_max_bytes(void)
{
    return cc_trace_memory_bound(NULL);
}

int cc_text_builder_init(cc_text_builder *b, const char *path, const char *format,
                         const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    memset(b, 0, sizeof *b);
    cc_trace_init(t);
    b->t = t;
    b->path = path;
    uint32_t bs = o && o->block_size ? o->block_size : CC_TEXT_BLOCK_SIZE;
    if (bs > (1u << 20))
        return cc_err_set(e, CC_EARG, NULL, 0, "block_size",
                          "expected a block size in 1..1048576 tokens, got %u", bs);
    b->block_size = bs;
    b->no_tokens = o && o->no_tokens;
    b->max_bytes = o && o->max_bytes ? o->max_bytes : cc_text_default_max_bytes();
    if (o && o->tokenizer) {
        b->tk = o->tokenizer;
    } else {
        if (cc_tokenizer_builtin(&b->own_tk))
            return cc_err_set(e, CC_ENOMEM, path, 0, NULL, "out of memory");
        b->tk = b->own_tk;
    }
    if (cc_u64map_init(&b->dedup, 1024))
        return cc_err_set(e, CC_ENOMEM, path, 0, NULL, "out of memory");
    uint32_t idx;
    if (cc_trace_tenant(t, "default", &idx) ||
        cc_trace_tenant(t, o && o->tenant ? o->tenant : "default", &b->tenant))
        return cc_err_set(e, CC_ENOMEM, path, 0, NULL, "out of memory");
    t->block_size = bs;
    t->timed = false;
    t->epoch_ns = 0;
    snprintf(t->source_format, sizeof t->source_format, "%s", format);
    snprintf(t->source, sizeof t->source, "%s", path);
    return CC_OK;
}

void cc_text_builder_free(cc_text_builder *b)
{
    cc_tokenizer_free(b->own_tk);
    cc_u64map_free(&b->dedup);
    free(b->pieces);
    free(b->ptok);
    free(b->rtok);
    free(b->rch);
    free(b->blk);
    free(b->ctok);
    memset(b, 0, sizeof *b);
}

void cc_text_record_reset(cc_text_builder *b)
{
    b->n_pieces = 0;
    b->n_ptok = 0;
}

static int oom(const cc_text_builder *b, cc_err *e)
{
    return cc_err_set(e, CC_ENOMEM, b->path, 0, NULL, "out of memory");
}

static int tokenize_err(const cc_text_builder *b, const cc_json_records *it, int rc,
                        const char *field, cc_err *e)
{
    if (rc == CC_ENOMEM)
        return oom(b, e);
    if (rc == CC_ERANGE) /* tokenizer_hf.c: the file's split regex hit Oniguruma's limit */
        return cc_json_fail(it, e, CC_ERANGE, field,
                            "the tokenizer (%s) gave up on the text: its split regex exceeded "
                            "the regex engine's backtracking limit", cc_tokenizer_name(b->tk));
    return cc_json_fail(it, e, rc == CC_EFORMAT ? CC_EFORMAT : rc, field,
                        "the tokenizer (%s) rejected the text (status %d: %s); expected valid "
                        "UTF-8 text", cc_tokenizer_name(b->tk), rc, cc_status_name(rc));
}

int cc_text_piece_add(cc_text_builder *b, const cc_json_records *it, int kind, const char *s,
                      size_t len, const char *field, size_t *idx, cc_err *e)
{
    if (len > UINT32_MAX)
        return cc_json_fail(it, e, CC_ERANGE, field,
                            "text of %zu bytes; expected at most %u bytes", len, UINT32_MAX);
    cc_trace *t = b->t;
    uint64_t h = cc_hash_bytes(s, len, 0);
    uint64_t off = t->text_len;
    if (len) {
        uint64_t *seen = cc_u64map_get(&b->dedup, h);
        if (seen && *seen + len <= t->text_len && memcmp(t->text + *seen, s, len) == 0) {
            off = *seen;
        } else {
            if (cc_trace_add_text(t, s, len, &off))
                return oom(b, e);
            if (!seen && cc_u64map_put(&b->dedup, h, off, NULL) < 0)
                return oom(b, e);
        }
    }
    size_t before = b->n_ptok;
    int rc = cc_tokenize(b->tk, s, len, &b->ptok, &b->n_ptok, &b->cap_ptok);
    if (rc)
        return tokenize_err(b, it, rc, field, e);
    if (b->n_ptok - before > UINT32_MAX)
        return cc_json_fail(it, e, CC_ERANGE, field, "text of %zu tokens; expected at most %u",
                            b->n_ptok - before, UINT32_MAX);
    if (cc_grow((void **)&b->pieces, &b->cap_pieces, b->n_pieces + 1, sizeof *b->pieces))
        return oom(b, e);
    cc_text_piece *p = &b->pieces[b->n_pieces];
    p->text_off = off;
    p->hash = h;
    p->text_len = (uint32_t)len;
    p->kind = (uint32_t)kind;
    p->tok_off = before;
    p->n_tok = (uint32_t)(b->n_ptok - before);
    *idx = b->n_pieces++;
    return CC_OK;
}

int cc_text_count_tokens(cc_text_builder *b, const cc_json_records *it, const char *s,
                         size_t len, const char *field, uint32_t *n, cc_err *e)
{
    size_t got = 0;
    int rc = cc_tokenize(b->tk, s, len, &b->ctok, &got, &b->cap_ctok);
    if (rc)
        return tokenize_err(b, it, rc, field, e);
    if (got > UINT32_MAX)
        return cc_json_fail(it, e, CC_ERANGE, field, "text of %zu tokens; expected at most %u",
                            got, UINT32_MAX);
    *n = (uint32_t)got;
    return CC_OK;
}

int cc_text_emit(cc_text_builder *b, const cc_json_records *it, size_t first, size_t count,
                 const cc_request *meta, cc_err *e)
{
    uint64_t total = 0;
    for (size_t i = first; i < first + count; i++)
        total += b->pieces[i].n_tok;
    if (total > UINT32_MAX)
        return cc_json_fail(it, e, CC_ERANGE, "input_tokens",
                            "request of %llu input tokens; expected at most %u",
                            (unsigned long long)total, UINT32_MAX);
    size_t nb = (size_t)((total + b->block_size - 1) / b->block_size);
    /* Multi-turn formats repeat the whole history in every turn's request, so
     * a long conversation grows quadratically (10,000 short turns: 21 GB);
     * fail with a resource error before the machine runs out. */
    uint64_t need = (b->no_tokens ? 0 : total * sizeof(uint32_t)) + nb * sizeof(uint64_t) +
                    count * sizeof(cc_chunk) + CC_TEXT_REQUEST_BYTES;
    if (b->used_bytes + need > b->max_bytes)
        return cc_json_fail(it, e, CC_ENOMEM, "input_tokens",
                            "the requests so far take %.1f MB and this one %.1f MB more (%llu "
                            "tokens, %zu turns repeated from the history), past the bound of "
                            "%.1f MB (half the physical memory, or CTXCACHE_MAX_MEMORY)",
                            b->used_bytes / 1e6, need / 1e6, (unsigned long long)total, count,
                            b->max_bytes / 1e6);
    b->used_bytes += need;
    if (cc_grow((void **)&b->rtok, &b->cap_rtok, (size_t)total + 1, sizeof *b->rtok) ||
        cc_grow((void **)&b->rch, &b->cap_rch, count + 1, sizeof *b->rch) ||
        cc_grow((void **)&b->blk, &b->cap_blk, nb + 1, sizeof *b->blk))
        return oom(b, e);
    uint32_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        const cc_text_piece *p = &b->pieces[first + i];
        cc_chunk *c = &b->rch[i];
        c->text_off = p->text_off;
        c->text_len = p->text_len;
        c->kind = p->kind;
        c->token_start = pos;
        c->token_len = p->n_tok;
        c->chunk_hash = p->hash;
        if (p->n_tok) /* an empty prompt has no token array at all */
            memcpy(b->rtok + pos, b->ptok + p->tok_off, (size_t)p->n_tok * sizeof *b->rtok);
        pos += p->n_tok;
    }
    cc_request r = *meta;
    r.arrival_ns = 0;
    r.tenant = b->tenant;
    r.input_tokens = pos;
    r.n_blocks = (uint32_t)cc_block_chain(b->tenant, b->rtok, pos, b->block_size, b->blk);
    r.blocks = b->blk;
    r.n_token_ids = b->no_tokens ? 0 : pos;
    r.token_ids = b->no_tokens ? NULL : b->rtok;
    r.n_chunks = (uint32_t)count;
    r.chunks = b->rch;
    r.embedding = NULL;
    if (cc_trace_append(b->t, &r))
        return oom(b, e);
    return CC_OK;
}

int cc_text_finish(cc_text_builder *b, const cc_json_records *it, const char *what, cc_err *e)
{
    if (b->t->n == 0)
        return cc_err_set(e, CC_EFORMAT, b->path, it->index ? it->rec_line : 1, "record",
                          "%ld record%s but no request: %s", it->index,
                          it->index == 1 ? "" : "s", what);
    return CC_OK;
}

/* ---- detectors -------------------------------------------------------------------- */

int cc_text_head_first(const unsigned char *head, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < len && is_ws((char)head[i]))
        i++;
    return i < len ? head[i] : 0;
}

/* Offset just past `"key"<ws>:` and its following whitespace, or 0. */
static size_t find_key(const unsigned char *head, size_t len, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 2 < len; i++) {
        if (head[i] != '"' || memcmp(head + i + 1, key, kl) != 0 || head[i + 1 + kl] != '"')
            continue;
        size_t j = i + kl + 2;
        while (j < len && is_ws((char)head[j]))
            j++;
        if (j < len && head[j] == ':') {
            j++;
            while (j < len && is_ws((char)head[j]))
                j++;
            return j;
        }
    }
    return 0;
}

int cc_text_head_has_key(const unsigned char *head, size_t len, const char *key)
{
    return find_key(head, len, key) != 0;
}

int cc_text_head_after_key(const unsigned char *head, size_t len, const char *key)
{
    size_t j = find_key(head, len, key);
    return j && j < len ? head[j] : 0;
}

size_t cc_text_head_value_at(const unsigned char *head, size_t len, const char *key)
{
    size_t j = find_key(head, len, key);
    return j < len ? j : 0;
}
