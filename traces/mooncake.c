/*
 * mooncake.c -- the Mooncake trace format (kvcache-ai/Mooncake, FAST'25
 * release): JSON Lines, one request per line:
 *
 *   {"timestamp": 27, "input_length": 6758, "output_length": 500,
 *    "hash_ids": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]}
 *
 * timestamp is in ms since the trace's start (non-decreasing), lengths are in
 * tokens, and hash_ids holds one id per 512-token block (ceil(input_length /
 * 512) of them, the last block partial); an id names the whole prefix up to
 * and including its block, so equal ids mean equal prefixes.  Unknown extra
 * fields are ignored.  The ids become the trace's block hashes unchanged, the
 * trace's block size is 512 and cannot be changed (there are no tokens to
 * re-block), and every request is its own session (the format has none).
 *
 * Reading: getline into a reused buffer; a plain line (fast_line: names of
 * [A-Za-z0-9_], values non-negative integers or flat lists of them, each
 * name once, the counts in range) is read by hand, any other line with one
 * json_loadb; the request goes straight into the columnar trace.  The line
 * loop is cc_mc_reader (stream_int.h), which stream.c also reads in
 * windows without holding the trace.  Any malformed line fails the whole
 * read with its line number and field; for JSON syntax errors the field is
 * the top-level member whose value the error lies in (found by a short scan
 * of the line), or "record".  Since an id names a whole prefix, each id must
 * always follow the same id (or always come first): an id repeated within a
 * list, or in another order than on an earlier line, is an error.  Cost:
 * O(bytes) time, O(longest line) scratch and a map of the distinct ids (the
 * id before each; 16-32 bytes an id).
 *
 * Writing: any timed trace with 512-token hash chains.  Our block hashes are
 * 64-bit and need not fit JSON's signed integers, so they are renumbered to
 * dense ids in first-seen order (as Mooncake's own ids are); equal hashes get
 * equal ids, so the prefix structure and every hit ratio are preserved.
 * Timestamps are written in ms, rounded to nearest.  Cost: O(blocks) time and
 * one u64 map of distinct blocks (<= 32 bytes each).
 */
#include "traces.h"
#include "stream_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include "lines.h"
#include "textread.h"
#include <stdlib.h>
#include <string.h>

#define MC_BLOCK_SIZE 512u
#define MC_MAX_TOKENS (1u << 24)                      /* 16M tokens: an absurd length */
#define MC_MAX_TIMESTAMP_MS (CC_MAX_ARRIVAL_NS / 1000000) /* traces.h: no sum overflows */

/* The top-level member of the JSON object in s[0..n) whose value contains
 * byte pos (where a syntax error was found) or whose name ends just before
 * it, or "record" when the error is elsewhere (inside a name, between
 * members).  Only brackets, strings and escapes are tracked: good enough to
 * point at the place, not a parser. */
static void member_at(const char *s, size_t n, size_t pos, char *key, size_t keylen)
{
    int depth = 0, in_str = 0, esc = 0;
    size_t str_start = 0, str_end = 0, key_start = 0, key_end = 0;
    int have_str = 0, have_key = 0;
    if (pos > n)
        pos = n;
    for (size_t i = 0; i < pos; i++) {
        char c = s[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"') {
                in_str = 0;
                str_end = i;
                have_str = depth == 1;
            }
            continue;
        }
        switch (c) {
        case '"': in_str = 1; str_start = i + 1; break;
        case '{': case '[': depth++; break;
        case '}': case ']': depth--; break;
        case ':':
            if (depth == 1 && have_str) {
                key_start = str_start;
                key_end = str_end;
                have_key = 1;
            }
            break;
        case ',':
            if (depth == 1)
                have_key = 0;
            break;
        default: break;
        }
        if (c != ' ' && c != '\t' && c != '"')
            have_str = 0;
    }
    if (!have_key && have_str && !in_str) { /* just after a key (a duplicate, a missing ':') */
        key_start = str_start;
        key_end = str_end;
        have_key = 1;
    }
    if (!have_key || key_end <= key_start) {
        snprintf(key, keylen, "record");
        return;
    }
    size_t k = 0;
    for (size_t i = key_start; i < key_end && k + 1 < keylen; i++)
        key[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    key[k] = '\0';
}

/* Reads member key of o as an integer in [0, max]. */
static int get_count(const json_t *o, const char *key, json_int_t max, json_int_t *out,
                     const char *path, long line, cc_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return cc_err_set(err, CC_EFORMAT, path, line, key,
                          "missing; expected a non-negative integer");
    if (!json_is_integer(v))
        return cc_err_set(err, CC_EFORMAT, path, line, key,
                          "expected a non-negative integer, found %s", cc_json_type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < 0)
        return cc_err_set(err, CC_ERANGE, path, line, key,
                          "%" JSON_INTEGER_FORMAT " is negative; expected a non-negative integer", x);
    if (x > max)
        return cc_err_set(err, CC_ERANGE, path, line, key,
                          "%" JSON_INTEGER_FORMAT " is absurdly large; expected at most %"
                          JSON_INTEGER_FORMAT, x, max);
    *out = x;
    return CC_OK;
}

/* ---- the fast path ----------------------------------------------------
 * Most lines are plain: one object whose names are [A-Za-z0-9_]+ and whose
 * values are non-negative integers (at most 18 digits, no leading zero) or
 * flat arrays of them, every name once, the four members present and the
 * counts in range.  Such a line is read here by hand: jansson would give the
 * same values, and none of its errors can arise.  Any other line (and every
 * error) goes to jansson (parse_line), so the messages stay its own.
 * Returns 1 (read), 0 (not plain: use jansson) or CC_ENOMEM. */
static inline const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static inline const char *fast_uint(const char *p, const char *e, int64_t *out)
{
    if (p >= e || *p < '0' || *p > '9')
        return NULL;
    const char *q = p;
    int64_t v = 0;
    while (q < e && *q >= '0' && *q <= '9') {
        if (q - p == 18) /* a 19th digit: jansson's range checks decide */
            return NULL;
        v = v * 10 + (*q - '0');
        q++;
    }
    if ((*p == '0' && q - p > 1) || (q < e && (*q == '.' || *q == 'e' || *q == 'E')))
        return NULL;
    *out = v;
    return q;
}

enum { F_TS = 1, F_IN = 2, F_OUT = 4, F_IDS = 8 };

static int fast_line(const char *s, size_t n, uint64_t **ids, size_t *ids_cap, int64_t *ts,
                     int64_t *in, int64_t *outl, size_t *nb_out)
{
    const char *p = s, *e = s + n;
    if (!*ids_cap && cc_grow((void **)ids, ids_cap, 1, sizeof **ids))
        return CC_ENOMEM;
    p = skip_ws(p, e);
    if (p >= e || *p++ != '{')
        return 0;
    unsigned seen = 0, n_other = 0;
    const char *other[8];
    size_t other_len[8];
    size_t nb = 0;
    p = skip_ws(p, e);
    if (p < e && *p == '}')
        return 0; /* no members: jansson says which is missing */
    for (;;) {
        if (p >= e || *p++ != '"')
            return 0;
        const char *k = p;
        while (p < e && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                         (*p >= '0' && *p <= '9') || *p == '_'))
            p++;
        if (p >= e || *p != '"' || p == k)
            return 0;
        size_t kl = (size_t)(p - k);
        p = skip_ws(p + 1, e);
        if (p >= e || *p++ != ':')
            return 0;
        p = skip_ws(p, e);
        unsigned f = 0;
        if (kl == 9 && !memcmp(k, "timestamp", 9))
            f = F_TS;
        else if (kl == 12 && !memcmp(k, "input_length", 12))
            f = F_IN;
        else if (kl == 13 && !memcmp(k, "output_length", 13))
            f = F_OUT;
        else if (kl == 8 && !memcmp(k, "hash_ids", 8))
            f = F_IDS;
        if (f & seen)
            return 0; /* a duplicate */
        if (!f) { /* another member: ignored, but once only */
            for (unsigned j = 0; j < n_other; j++)
                if (other_len[j] == kl && !memcmp(other[j], k, kl))
                    return 0;
            if (n_other == 8)
                return 0;
            other[n_other] = k;
            other_len[n_other++] = kl;
        }
        seen |= f;
        if (p < e && *p == '[') {
            if (f && f != F_IDS)
                return 0;
            p = skip_ws(p + 1, e);
            if (p < e && *p == ']') {
                p++;
            } else {
                for (;;) {
                    int64_t v;
                    if (!(p = fast_uint(p, e, &v)))
                        return 0;
                    if (f == F_IDS) {
                        if (nb == *ids_cap &&
                            cc_grow((void **)ids, ids_cap, nb + 1, sizeof **ids))
                            return CC_ENOMEM;
                        (*ids)[nb++] = (uint64_t)v;
                    }
                    p = skip_ws(p, e);
                    if (p < e && *p == ',') {
                        p = skip_ws(p + 1, e);
                        continue;
                    }
                    if (p < e && *p == ']') {
                        p++;
                        break;
                    }
                    return 0;
                }
            }
        } else {
            int64_t v;
            if (f == F_IDS || !(p = fast_uint(p, e, &v)))
                return 0;
            if (f == F_TS)
                *ts = v;
            else if (f == F_IN)
                *in = v;
            else if (f == F_OUT)
                *outl = v;
        }
        p = skip_ws(p, e);
        if (p < e && *p == ',') {
            p = skip_ws(p + 1, e);
            continue;
        }
        if (p < e && *p == '}') {
            p++;
            break;
        }
        return 0;
    }
    if (skip_ws(p, e) != e || seen != (F_TS | F_IN | F_OUT | F_IDS))
        return 0;
    if (*ts > MC_MAX_TIMESTAMP_MS || *in > MC_MAX_TOKENS - 1 || *outl > MC_MAX_TOKENS - 1)
        return 0;
    *nb_out = nb;
    return 1;
}

/* The checks of a line's values, read by fast_line or by jansson
 * (parse_line), then the record: timestamps in order, one id per 512
 * tokens, and each id always following the same id (none first), which
 * catches ids repeated within a list ([1, 2, 1]) and ids out of order with
 * an earlier line ([1, 2] then [2, 1]). */
static int checked_record(const char *path, long line, int64_t *prev_ms, const uint64_t *ids,
                          size_t nb, cc_u64map *parents, int64_t ts, int64_t in, int64_t outl,
                          cc_mc_record *rec, cc_err *err)
{
    if (ts < *prev_ms)
        return cc_err_set(err, CC_ERANGE, path, line, "timestamp",
                          "%" PRId64 " ms is before the previous line's %" PRId64
                          " ms; expected non-decreasing timestamps", ts, *prev_ms);
    size_t want = ((size_t)in + MC_BLOCK_SIZE - 1) / MC_BLOCK_SIZE;
    if (nb != want)
        return cc_err_set(err, CC_EFORMAT, path, line, "hash_ids",
                          "%zu ids for input_length %" PRId64
                          "; expected ceil(input_length / 512) = %zu", nb, in, want);
    for (size_t j = 0; j < nb; j++) {
        uint64_t x = ids[j], parent = j ? ids[j - 1] + 1 : 0, *slot;
        int r = cc_u64map_put(parents, x, parent, &slot);
        if (r < 0)
            return cc_err_set(err, CC_ENOMEM, path, line, "hash_ids", "out of memory");
        if (r == 0 && *slot != parent) {
            char was[40] = "the start of a list", here[40] = "the start of the list";
            if (*slot)
                snprintf(was, sizeof was, "id %" PRIu64, *slot - 1);
            if (parent)
                snprintf(here, sizeof here, "id %" PRIu64, parent - 1);
            return cc_err_set(err, CC_EFORMAT, path, line, "hash_ids",
                              "id %zu: %" PRIu64 " follows %s here but followed %s "
                              "before; expected each id to name one prefix (no id repeated or "
                              "out of order)", j, x, here, was);
        }
    }
    rec->arrival_ns = ts * 1000000;
    rec->input_tokens = (uint32_t)in;
    rec->output_tokens = (uint32_t)outl;
    rec->n_blocks = (uint32_t)nb;
    rec->blocks = ids;
    rec->line = line;
    *prev_ms = ts;
    return CC_OK;
}

/* Parses one non-blank line into *rec (its ids in *ids). */
static int parse_line(const char *s, size_t n, int last_unterminated, const char *path, long line,
                      int64_t *prev_ms, uint64_t **ids, size_t *ids_cap, cc_u64map *parents,
                      cc_mc_record *rec, cc_err *err)
{
    int64_t fts = 0, fin = 0, fout = 0;
    size_t fnb = 0;
    int fr = fast_line(s, n, ids, ids_cap, &fts, &fin, &fout, &fnb);
    if (fr == CC_ENOMEM)
        return cc_err_set(err, CC_ENOMEM, path, line, "hash_ids", "out of memory");
    if (fr == 1)
        return checked_record(path, line, prev_ms, *ids, fnb, parents, fts, fin, fout, rec, err);
    json_error_t je;
    json_t *o = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        char key[64];
        size_t pos = je.position > 0 ? (size_t)je.position : 0;
        member_at(s, n, pos, key, sizeof key);
        if (last_unterminated && pos >= n)
            return cc_err_set(err, CC_EFORMAT, path, line, key,
                              "the last line is truncated (the file ends inside a JSON object): "
                              "%s", je.text);
        return cc_err_set(err, CC_EFORMAT, path, line, key,
                          "invalid JSON at byte %zu of the line: %s; expected one JSON object "
                          "per line", pos + 1, je.text);
    }
    int rc;
    if (!json_is_object(o)) {
        rc = cc_err_set(err, CC_EFORMAT, path, line, "record",
                        "expected a JSON object, found %s", cc_json_type_name(o));
        goto out;
    }
    json_int_t ts, in, outl;
    if ((rc = get_count(o, "timestamp", MC_MAX_TIMESTAMP_MS, &ts, path, line, err)) ||
        (rc = get_count(o, "input_length", MC_MAX_TOKENS - 1, &in, path, line, err)) ||
        (rc = get_count(o, "output_length", MC_MAX_TOKENS - 1, &outl, path, line, err)))
        goto out;
    const json_t *h = json_object_get(o, "hash_ids");
    if (!h) {
        rc = cc_err_set(err, CC_EFORMAT, path, line, "hash_ids",
                        "missing; expected an array of block ids");
        goto out;
    }
    if (!json_is_array(h)) {
        rc = cc_err_set(err, CC_EFORMAT, path, line, "hash_ids",
                        "expected an array of block ids, found %s", cc_json_type_name(h));
        goto out;
    }
    size_t nb = json_array_size(h);
    if ((rc = cc_grow((void **)ids, ids_cap, nb ? nb : 1, sizeof **ids))) {
        rc = cc_err_set(err, CC_ENOMEM, path, line, "hash_ids", "out of memory");
        goto out;
    }
    for (size_t j = 0; j < nb; j++) {
        const json_t *v = json_array_get(h, j);
        if (!json_is_integer(v)) {
            rc = cc_err_set(err, CC_EFORMAT, path, line, "hash_ids",
                            "id %zu: expected a non-negative integer, found %s", j,
                            cc_json_type_name(v));
            goto out;
        }
        json_int_t x = json_integer_value(v);
        if (x < 0) {
            rc = cc_err_set(err, CC_ERANGE, path, line, "hash_ids",
                            "id %zu: %" JSON_INTEGER_FORMAT " is negative; expected a "
                            "non-negative integer", j, x);
            goto out;
        }
        (*ids)[j] = (uint64_t)x;
    }
    /* the values' checks and the record: the same as a plain line's */
    rc = checked_record(path, line, prev_ms, *ids, nb, parents, ts, in, outl, rec, err);
out:
    json_decref(o);
    return rc;
}

/* ---- the line reader (the whole-file reader and stream.c's windows) ---- */
struct cc_mc_reader {
    FILE *f;
    cc_lines L;
    const char *path;
    uint64_t *ids;
    size_t ids_cap;
    int64_t prev_ms;
    uint64_t records;
    cc_u64map parents; /* id -> the id before it + 1 (0: first): 16+ bytes per distinct id */
};

void cc_mc_reader_close(cc_mc_reader *r)
{
    if (!r)
        return;
    cc_lines_free(&r->L);
    cc_u64map_free(&r->parents);
    free(r->ids);
    if (r->f)
        fclose(r->f);
    free(r);
}

int cc_mc_reader_open(const char *path, const cc_read_opts *o, cc_mc_reader **out, cc_err *e)
{
    *out = NULL;
    if (o && o->block_size && o->block_size != MC_BLOCK_SIZE)
        return cc_trace_no_tokens_error(path, MC_BLOCK_SIZE, o->block_size, CC_EARG, e);
    cc_mc_reader *r = calloc(1, sizeof *r);
    if (!r || cc_u64map_init(&r->parents, 1024) != CC_OK) {
        free(r);
        return cc_err_set(e, CC_ENOMEM, path, 0, NULL, "out of memory");
    }
    r->f = fopen(path, "rb");
    if (!r->f) {
        int er = errno;
        cc_mc_reader_close(r);
        return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(er));
    }
    r->L.f = r->f;
    r->path = path;
    *out = r;
    return CC_OK;
}

size_t cc_mc_reader_map_bytes(const cc_mc_reader *r)
{
    return r->parents.cap * 2 * sizeof(uint64_t);
}

int cc_mc_reader_next(cc_mc_reader *r, cc_mc_record *rec, int *got, cc_err *e)
{
    *got = 0;
    cc_lines *L = &r->L;
    char *buf;
    size_t n;
    const char *path = r->path;
    while (cc_lines_next(L, &buf, &n)) {
        const long line = L->line;
        const char *nul = memchr(buf, '\0', n);
        if (nul)
            return cc_err_set(e, CC_EFORMAT, path, line, "record",
                              "binary data (a NUL byte at byte %zu of the line); expected JSON "
                              "text, one object per line", (size_t)(nul - buf) + 1);
        size_t k = 0;
        while (k < n && (buf[k] == ' ' || buf[k] == '\t'))
            k++;
        int blank = cc_lines_blank(L, k == n);
        if (blank > 0)
            continue;
        if (blank < 0)
            return cc_err_set(e, CC_EFORMAT, path, L->first_blank, "record",
                              "blank line inside the trace; expected one JSON object per line "
                              "(blank lines are allowed only at the end)");
        int rc = parse_line(buf, n, !L->terminated, path, line, &r->prev_ms, &r->ids,
                            &r->ids_cap, &r->parents, rec, e);
        if (rc)
            return rc;
        r->records++;
        *got = 1;
        return CC_OK;
    }
    if (ferror(r->f))
        return cc_err_set(e, CC_EIO, path, L->line, NULL, "read failed: %s", strerror(errno));
    if (r->records == 0)
        return cc_err_set(e, CC_EFORMAT, path, 1, "record",
                          L->line ? "no records, only blank lines; expected one JSON object per line"
                                  : "file is empty; expected one JSON object per line");
    return CC_OK;
}

int cc_read_mooncake(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    cc_trace_init(t);
    cc_mc_reader *r;
    int rc = cc_mc_reader_open(path, o, &r, e);
    if (rc)
        return rc;
    t->block_size = MC_BLOCK_SIZE;
    t->timed = true;
    t->epoch_ns = 0;
    snprintf(t->source_format, sizeof t->source_format, "mooncake");
    snprintf(t->source, sizeof t->source, "%s", path);

    const uint64_t bound = cc_trace_memory_bound(o);
    uint32_t tenant = 0;
    if (cc_trace_tenant(t, o && o->tenant ? o->tenant : "default", &tenant)) {
        rc = cc_err_set(e, CC_ENOMEM, path, 0, NULL, "out of memory");
        goto out;
    }
    for (;;) {
        cc_mc_record m;
        int got;
        if ((rc = cc_mc_reader_next(r, &m, &got, e)) || !got)
            break;
        cc_request q = {0};
        q.arrival_ns = m.arrival_ns;
        q.session_id = t->n;
        q.tenant = tenant;
        q.input_tokens = m.input_tokens;
        q.output_tokens = m.output_tokens;
        q.group_id = CC_NO_GROUP;
        q.role = CC_ROLE_QUERY;
        q.n_blocks = m.n_blocks;
        q.blocks = m.blocks;
        if (cc_trace_append(t, &q)) {
            rc = cc_err_set(e, CC_ENOMEM, path, m.line, NULL, "out of memory");
            break;
        }
        /* the memory bound (traces.h): the requests and the map of ids */
        uint64_t used = cc_trace_memory_bytes(t) + cc_mc_reader_map_bytes(r);
        if (used > bound) {
            rc = cc_trace_bound_error(path, m.line, "hash_ids",
                                      "the requests so far and the map of their block ids",
                                      used, bound, e);
            break;
        }
    }
out:
    cc_mc_reader_close(r);
    if (rc)
        cc_trace_free(t);
    return rc;
}

/* Everything that can make a trace unwritable, checked before the file is
 * created so that a refused write leaves nothing behind. */
static int check_writable(const cc_trace *t, const char *path, cc_err *e)
{
    if ((t->block_size == 0 || (t->n && cc_trace_n_blocks_total(t) == 0)) &&
        t->n && cc_trace_n_tokens_total(t) == 0)
        return cc_err_set(e, CC_EUNSUP, path, 0, "hash_ids",
                          "the trace has lengths only (no token ids, no block hashes), and "
                          "Mooncake's format needs one hash id per 512-token block: write it "
                          "as azure or h5");
    if (t->block_size == 0 || (t->n && cc_trace_n_blocks_total(t) == 0))
        return cc_err_set(e, CC_EUNSUP, path, 0, "hash_ids",
                          "the trace has no block hash chains; Mooncake's format needs one id "
                          "per 512-token block (build chains from tokens with --block-size 512)");
    if (t->block_size != MC_BLOCK_SIZE)
        return cc_err_set(e, CC_EUNSUP, path, 0, "block_size",
                          "the trace's blocks hold %u tokens; Mooncake's format has 512-token "
                          "blocks (re-block it with --block-size 512)", t->block_size);
    if (!t->timed && t->n)
        return cc_err_set(e, CC_EUNSUP, path, 0, "timestamp",
                          "the trace has no arrival times, and a Mooncake trace needs them "
                          "(give it an arrival process with ctxcache gen)");
    for (size_t i = 0; i < t->n; i++) {
        uint64_t nb = t->block_off[i + 1] - t->block_off[i];
        uint64_t want = ((uint64_t)t->input_tokens[i] + MC_BLOCK_SIZE - 1) / MC_BLOCK_SIZE;
        if (nb != want)
            return cc_err_set(e, CC_EUNSUP, path, 0, "hash_ids",
                              "request %zu has %" PRIu64 " blocks for %u input tokens; Mooncake's "
                              "format needs ceil(input_length / 512) = %" PRIu64,
                              i + 1, nb, t->input_tokens[i], want);
        if (t->arrival_ns[i] < 0 || (i && t->arrival_ns[i] < t->arrival_ns[i - 1]))
            return cc_err_set(e, CC_ERANGE, path, 0, "timestamp",
                              "request %zu: arrival %" PRId64 " ns is negative or before the "
                              "previous one; expected non-decreasing arrivals from 0",
                              i + 1, t->arrival_ns[i]);
    }
    return CC_OK;
}

int cc_write_mooncake(const cc_trace *t, const char *path, cc_err *e)
{
    int rc = check_writable(t, path, e);
    if (rc)
        return rc;
    cc_u64map ids;
    if (cc_u64map_init(&ids, cc_trace_n_blocks_total(t)))
        return cc_err_set(e, CC_ENOMEM, path, 0, NULL, "out of memory");
    cc_outfile out;
    if ((rc = cc_outfile_open(&out, path, e))) {
        cc_u64map_free(&ids);
        return rc;
    }
    FILE *f = out.f;
    for (size_t i = 0; i < t->n; i++) {
        int64_t ms = t->arrival_ns[i] / 1000000 + (t->arrival_ns[i] % 1000000 >= 500000);
        fprintf(f, "{\"timestamp\": %" PRId64 ", \"input_length\": %u, \"output_length\": %u, "
                   "\"hash_ids\": [", ms, t->input_tokens[i], t->output_tokens[i]);
        for (uint64_t j = t->block_off[i]; j < t->block_off[i + 1]; j++) {
            uint64_t *id;
            if (cc_u64map_put(&ids, t->blocks[j], ids.count, &id) < 0) {
                rc = cc_err_set(e, CC_ENOMEM, path, 0, NULL, "out of memory");
                goto done;
            }
            fprintf(f, j > t->block_off[i] ? ", %" PRIu64 : "%" PRIu64, *id);
        }
        fputs("]}\n", f);
    }
done:
    cc_u64map_free(&ids);
    return cc_outfile_close(&out, path, rc, e);
}

/* A JSON object on the first line with Mooncake's member names.  The id
 * array of a long first request may lie beyond the 4 KiB head, so the
 * scalar members alone already score high. */
int cc_detect_mooncake(const char *path, const unsigned char *head, size_t head_len)
{
    size_t i = 0;
    if (head_len >= 3 && !memcmp(head, "\xEF\xBB\xBF", 3))
        i = 3;
    while (i < head_len && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
        i++;
    if (i >= head_len || head[i] != '{')
        return 0;
    const unsigned char *eol = memchr(head + i, '\n', head_len - i);
    size_t n = (eol ? (size_t)(eol - head) : head_len) - i;
    const unsigned char *s = head + i;
#define HAS(k) (memmem(s, n, "\"" k "\"", sizeof k + 1) != NULL)
    int score = 0;
    if (HAS("input_length") && HAS("output_length"))
        score = HAS("hash_ids") ? 95 : HAS("timestamp") ? 80 : 0;
#undef HAS
    return score;
}
