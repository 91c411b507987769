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
 * Reading: getline + one json_loadb per line into reused buffers; the request
 * goes straight into the columnar trace (no allocation per request beyond
 * what jansson does for the parsed line).  Any malformed line fails the whole
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

/* Parses one non-blank line into t. */
static int parse_line(const char *s, size_t n, int last_unterminated, const char *path, long line,
                      int64_t *prev_ms, uint64_t **ids, size_t *ids_cap, cc_u64map *parents,
                      uint32_t tenant,
                      cc_trace *t, cc_err *err)
{
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
    if (ts < *prev_ms) {
        rc = cc_err_set(err, CC_ERANGE, path, line, "timestamp",
                        "%" JSON_INTEGER_FORMAT " ms is before the previous line's %" PRId64
                        " ms; expected non-decreasing timestamps", ts, *prev_ms);
        goto out;
    }
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
    size_t nb = json_array_size(h), want = ((size_t)in + MC_BLOCK_SIZE - 1) / MC_BLOCK_SIZE;
    if (nb != want) {
        rc = cc_err_set(err, CC_EFORMAT, path, line, "hash_ids",
                        "%zu ids for input_length %" JSON_INTEGER_FORMAT
                        "; expected ceil(input_length / 512) = %zu",
                        nb, in, want);
        goto out;
    }
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
        /* an id names one whole prefix: it always follows the same id (none
         * first).  Catches ids repeated within a list ([1, 2, 1]) and ids
         * out of order with an earlier line ([1, 2] then [2, 1]). */
        uint64_t parent = j ? (*ids)[j - 1] + 1 : 0, *slot = cc_u64map_get(parents, (uint64_t)x);
        if (slot && *slot != parent) {
            char was[40] = "the start of a list", here[40] = "the start of the list";
            if (*slot)
                snprintf(was, sizeof was, "id %" PRIu64, *slot - 1);
            if (parent)
                snprintf(here, sizeof here, "id %" PRIu64, parent - 1);
            rc = cc_err_set(err, CC_EFORMAT, path, line, "hash_ids",
                            "id %zu: %" JSON_INTEGER_FORMAT " follows %s here but followed %s "
                            "before; expected each id to name one prefix (no id repeated or "
                            "out of order)", j, x, here, was);
            goto out;
        }
        if (!slot && cc_u64map_put(parents, (uint64_t)x, parent, NULL) < 0) {
            rc = cc_err_set(err, CC_ENOMEM, path, line, "hash_ids", "out of memory");
            goto out;
        }
    }
    cc_request r = {0};
    r.arrival_ns = (int64_t)ts * 1000000;
    r.session_id = t->n;
    r.tenant = tenant;
    r.input_tokens = (uint32_t)in;
    r.output_tokens = (uint32_t)outl;
    r.group_id = CC_NO_GROUP;
    r.role = CC_ROLE_QUERY;
    r.n_blocks = (uint32_t)nb;
    r.blocks = *ids;
    if (cc_trace_append(t, &r)) {
        rc = cc_err_set(err, CC_ENOMEM, path, line, NULL, "out of memory");
        goto out;
    }
    *prev_ms = ts;
    rc = CC_OK;
out:
    json_decref(o);
    return rc;
}

int cc_read_mooncake(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    cc_trace_init(t);
    if (o && o->block_size && o->block_size != MC_BLOCK_SIZE)
        return cc_trace_no_tokens_error(path, MC_BLOCK_SIZE, o->block_size, CC_EARG, e);
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(errno));
    t->block_size = MC_BLOCK_SIZE;
    t->timed = true;
    t->epoch_ns = 0;
    snprintf(t->source_format, sizeof t->source_format, "mooncake");
    snprintf(t->source, sizeof t->source, "%s", path);

    const uint64_t bound = cc_trace_memory_bound(o);
    cc_lines L = {.f = f};
    char *buf;
    size_t n;
    uint64_t *ids = NULL;
    size_t ids_cap = 0;
    int64_t prev_ms = 0;
    uint32_t tenant = 0;
    cc_u64map parents; /* id -> the id before it + 1 (0: first): 16+ bytes per distinct id */
    int rc = cc_u64map_init(&parents, 1024);
    if (rc == CC_OK)
        rc = cc_trace_tenant(t, o && o->tenant ? o->tenant : "default", &tenant);
    if (rc) {
        rc = cc_err_set(e, CC_ENOMEM, path, 0, NULL, "out of memory");
        goto out;
    }
    while (cc_lines_next(&L, &buf, &n)) {
        const long line = L.line;
        const char *nul = memchr(buf, '\0', n);
        if (nul) {
            rc = cc_err_set(e, CC_EFORMAT, path, line, "record",
                            "binary data (a NUL byte at byte %zu of the line); expected JSON "
                            "text, one object per line", (size_t)(nul - buf) + 1);
            goto out;
        }
        size_t k = 0;
        while (k < n && (buf[k] == ' ' || buf[k] == '\t'))
            k++;
        int blank = cc_lines_blank(&L, k == n);
        if (blank > 0)
            continue;
        if (blank < 0) {
            rc = cc_err_set(e, CC_EFORMAT, path, L.first_blank, "record",
                            "blank line inside the trace; expected one JSON object per line "
                            "(blank lines are allowed only at the end)");
            goto out;
        }
        rc = parse_line(buf, n, !L.terminated, path, line, &prev_ms, &ids, &ids_cap, &parents,
                        tenant, t, e);
        if (rc)
            goto out;
        /* the memory bound (traces.h): the requests and the map of ids */
        uint64_t used = cc_trace_memory_bytes(t) + parents.cap * 2 * sizeof(uint64_t);
        if (used > bound) {
            rc = cc_trace_bound_error(path, line, "hash_ids",
                                      "the requests so far and the map of their block ids",
                                      used, bound, e);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = cc_err_set(e, CC_EIO, path, L.line, NULL, "read failed: %s", strerror(errno));
        goto out;
    }
    if (t->n == 0) {
        rc = cc_err_set(e, CC_EFORMAT, path, 1, "record",
                        L.line ? "no records, only blank lines; expected one JSON object per line"
                             : "file is empty; expected one JSON object per line");
        goto out;
    }
    rc = CC_OK;
out:
    cc_lines_free(&L);
    cc_u64map_free(&parents);
    free(ids);
    fclose(f);
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
