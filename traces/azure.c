/*
 * azure.c -- the Azure LLM inference trace format (Azure/AzurePublicDataset,
 * AzureLLMInferenceTrace_{conv,code}.csv and the 2024 week-long files):
 *
 *   TIMESTAMP,ContextTokens,GeneratedTokens
 *   2023-11-16 18:15:46.6805900,374,44
 *
 * One request a row: its arrival as a UTC wall-clock time with 100 ns digits
 * (7 fractional digits; 0..9 are accepted), the prompt length and the
 * generated length in tokens.  Azure's files end lines with CRLF and have no
 * newline after the last row; both LF and CRLF are read.  There are no block
 * hashes (n_blocks = 0, block_size 0) and no sessions (every request is its
 * own session).  epoch_ns is the first row's time; arrival_ns is relative to
 * it, so the first request arrives at 0.
 *
 * Reading: getline into one reused buffer, a strict hand parse of the three
 * fields (digits only: no signs, spaces or exponents), and timegm(3) once per
 * distinct date (rows of the same day reuse the day's start).  Any malformed
 * row fails the whole read with its line number (the header is line 1) and
 * column name.  Cost: O(bytes) time, no allocation per row.
 *
 * Writing: the same CSV with CRLF line ends, 7 fractional digits when the
 * time is a multiple of 100 ns (else 9), so a file read and written again is
 * the same file (up to the final line end) and times round-trip exactly.
 */
#include "lines.h"
#include "traces.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AZ_HEADER "TIMESTAMP,ContextTokens,GeneratedTokens"
#define AZ_MAX_TOKENS (1u << 24) /* 16M tokens: an absurd length */
#define AZ_YEAR_MIN 1900         /* int64 ns since 1970 covers 1678..2262 */
#define AZ_YEAR_MAX 2200

/* Up to 48 bytes of s[0..n) for a message, non-printable bytes as \xNN. */
static const char *shown(const char *s, size_t n, char *buf, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < n && i < 48 && k + 5 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[k++] = (char)c;
        else
            k += (size_t)snprintf(buf + k, len - k, "\\x%02X", c);
    }
    if (n > 48 && k + 4 < len) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

/* Exactly n decimal digits at s into *v. */
static int digits(const char *s, size_t n, long *v)
{
    long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

typedef struct day_cache {
    char date[10]; /* "YYYY-MM-DD" of the last day converted */
    int64_t start_s;
    int valid;
} day_cache;

/* "YYYY-MM-DD HH:MM:SS[.f{1,9}]" (UTC) in s[0..n) to ns since 1970. */
static int parse_time(const char *s, size_t n, day_cache *dc, int64_t *ns, const char *path,
                      long line, cc_err *err)
{
    char b[256];
    long y, mo, d, h, mi, sec, frac = 0;
    size_t nfrac = 0;
    if (n == 0)
        return cc_err_set(err, CC_EFORMAT, path, line, "TIMESTAMP",
                          "missing; expected a time like 2023-11-16 18:15:46.6805900");
    int ok = n >= 19 && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' &&
             s[16] == ':' && !digits(s, 4, &y) && !digits(s + 5, 2, &mo) &&
             !digits(s + 8, 2, &d) && !digits(s + 11, 2, &h) && !digits(s + 14, 2, &mi) &&
             !digits(s + 17, 2, &sec);
    if (ok && n > 19) {
        nfrac = n - 20;
        ok = s[19] == '.' && nfrac >= 1 && nfrac <= 9 && !digits(s + 20, nfrac, &frac);
    }
    if (!ok)
        return cc_err_set(err, CC_EFORMAT, path, line, "TIMESTAMP",
                          "'%s' is not a time; expected YYYY-MM-DD HH:MM:SS with up to 9 "
                          "fractional digits, like 2023-11-16 18:15:46.6805900",
                          shown(s, n, b, sizeof b));
    for (size_t k = nfrac; k < 9; k++)
        frac *= 10;
    if (h > 23 || mi > 59 || sec > 59)
        return cc_err_set(err, CC_ERANGE, path, line, "TIMESTAMP",
                          "'%s' has no such time of day", shown(s, n, b, sizeof b));
    if (!dc->valid || memcmp(dc->date, s, 10) != 0) {
        if (y < AZ_YEAR_MIN || y > AZ_YEAR_MAX || mo < 1 || mo > 12 || d < 1 || d > 31)
            return cc_err_set(err, CC_ERANGE, path, line, "TIMESTAMP",
                              "'%s' has no such date; expected years %d..%d",
                              shown(s, n, b, sizeof b), AZ_YEAR_MIN, AZ_YEAR_MAX);
        struct tm tm = {0};
        tm.tm_year = (int)y - 1900;
        tm.tm_mon = (int)mo - 1;
        tm.tm_mday = (int)d;
        time_t start = timegm(&tm);
        struct tm back;
        /* timegm normalises (Feb 30 -> Mar 2): a date that does not come back unchanged does not exist */
        if (!gmtime_r(&start, &back) || back.tm_mday != d || back.tm_mon != mo - 1)
            return cc_err_set(err, CC_ERANGE, path, line, "TIMESTAMP",
                              "'%s' has no such date", shown(s, n, b, sizeof b));
        memcpy(dc->date, s, 10);
        dc->start_s = (int64_t)start;
        dc->valid = 1;
    }
    *ns = (dc->start_s + h * 3600 + mi * 60 + sec) * INT64_C(1000000000) + frac;
    return CC_OK;
}

/* A token count in s[0..n): digits only, below AZ_MAX_TOKENS. */
static int parse_count(const char *s, size_t n, const char *field, int last_unterminated,
                       uint32_t *v, const char *path, long line, cc_err *err)
{
    char b[256];
    if (n == 0)
        return cc_err_set(err, CC_EFORMAT, path, line, field,
                          last_unterminated ? "missing: the last line is truncated; expected "
                                              "a non-negative integer"
                                            : "missing; expected a non-negative integer");
    size_t i = s[0] == '-';
    int all_digits = i < n;
    for (size_t k = i; k < n; k++)
        all_digits &= s[k] >= '0' && s[k] <= '9';
    if (!all_digits)
        return cc_err_set(err, CC_EFORMAT, path, line, field,
                          "'%s' is not a token count; expected a non-negative integer",
                          shown(s, n, b, sizeof b));
    if (i)
        return cc_err_set(err, CC_ERANGE, path, line, field,
                          "%s is negative; expected a non-negative integer",
                          shown(s, n, b, sizeof b));
    uint64_t x = 0;
    for (size_t k = 0; k < n && x < AZ_MAX_TOKENS; k++)
        x = x * 10 + (uint64_t)(s[k] - '0');
    if (x >= AZ_MAX_TOKENS)
        return cc_err_set(err, CC_ERANGE, path, line, field,
                          "%s tokens is absurdly large; expected fewer than %u",
                          shown(s, n, b, sizeof b), AZ_MAX_TOKENS);
    *v = (uint32_t)x;
    return CC_OK;
}

int cc_read_azure(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    cc_trace_init(t);
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(errno));
    t->block_size = 0;
    t->timed = true;
    snprintf(t->source_format, sizeof t->source_format, "azure");
    snprintf(t->source, sizeof t->source, "%s", path);

    char b[256];
    cc_lines L = {.f = f};
    char *buf;
    size_t n;
    int64_t prev_ns = 0;
    day_cache dc = {0};
    uint32_t tenant = 0;
    const uint64_t bound = cc_trace_memory_bound(o);
    int rc = cc_trace_tenant(t, o && o->tenant ? o->tenant : "default", &tenant);
    if (rc) {
        rc = cc_err_set(e, CC_ENOMEM, path, 0, NULL, "out of memory");
        goto out;
    }
    while (cc_lines_next(&L, &buf, &n)) {
        const long line = L.line;
        const int terminated = L.terminated;
        const char *s = buf;
        if (memchr(s, '\0', n)) {
            rc = cc_err_set(e, CC_EFORMAT, path, line, line == 1 ? "header" : "TIMESTAMP",
                            "binary data (a NUL byte); expected CSV text");
            goto out;
        }
        if (line == 1) {
            if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) { /* UTF-8 byte order mark */
                s += 3;
                n -= 3;
            }
            if (n != sizeof AZ_HEADER - 1 || memcmp(s, AZ_HEADER, n) != 0) {
                rc = cc_err_set(e, CC_EFORMAT, path, line, "header",
                                "found '%s'; expected the header " AZ_HEADER,
                                shown(s, n, b, sizeof b));
                goto out;
            }
            continue;
        }
        int blank = cc_lines_blank(&L, n == 0);
        if (blank > 0)
            continue;
        if (blank < 0) {
            rc = cc_err_set(e, CC_EFORMAT, path, L.first_blank, "TIMESTAMP",
                            "blank line inside the trace; expected one request per row "
                            "(blank lines are allowed only at the end)");
            goto out;
        }
        const char *c1 = memchr(s, ',', n);
        const char *c2 = c1 ? memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - s)) : NULL;
        const char *end = s + n;
        int64_t ns = 0;
        cc_request r = {0};
        if ((rc = parse_time(s, (size_t)((c1 ? c1 : end) - s), &dc, &ns, path, line, e)))
            goto out;
        if (!c1) {
            rc = cc_err_set(e, CC_EFORMAT, path, line, "ContextTokens",
                            !terminated ? "missing: the last line is truncated; expected 3 columns"
                                        : "missing; expected 3 columns " AZ_HEADER);
            goto out;
        }
        if ((rc = parse_count(c1 + 1, (size_t)((c2 ? c2 : end) - (c1 + 1)), "ContextTokens",
                              !terminated, &r.input_tokens, path, line, e)))
            goto out;
        if (!c2) {
            rc = cc_err_set(e, CC_EFORMAT, path, line, "GeneratedTokens",
                            !terminated ? "missing: the last line is truncated; expected 3 columns"
                                        : "missing; expected 3 columns " AZ_HEADER);
            goto out;
        }
        const char *c3 = memchr(c2 + 1, ',', (size_t)(end - (c2 + 1)));
        if (c3) {
            rc = cc_err_set(e, CC_EFORMAT, path, line, "GeneratedTokens",
                            "unexpected '%s' after the third column; expected 3 columns",
                            shown(c3, (size_t)(end - c3), b, sizeof b));
            goto out;
        }
        if ((rc = parse_count(c2 + 1, (size_t)(end - (c2 + 1)), "GeneratedTokens", !terminated,
                              &r.output_tokens, path, line, e)))
            goto out;
        if (t->n == 0) {
            t->epoch_ns = ns;
        } else if (ns < prev_ns) {
            char b2[64];
            rc = cc_err_set(e, CC_ERANGE, path, line, "TIMESTAMP",
                            "'%s' is %.7f s before the previous row's time; expected "
                            "non-decreasing times",
                            shown(s, (size_t)(c1 - s), b2, sizeof b2), (prev_ns - ns) * 1e-9);
            goto out;
        }
        prev_ns = ns;
        r.arrival_ns = ns - t->epoch_ns;
        r.session_id = t->n;
        r.tenant = tenant;
        r.group_id = CC_NO_GROUP;
        r.role = CC_ROLE_QUERY;
        uint64_t need = cc_trace_bytes_for(t->n + 1, 0, 0, 0, 0, 0);
        if (need > bound) { /* the memory bound (traces.h) */
            rc = cc_trace_bound_error(path, line, NULL, "the requests so far", need, bound, e);
            goto out;
        }
        if (cc_trace_append(t, &r)) {
            rc = cc_err_set(e, CC_ENOMEM, path, line, NULL, "out of memory");
            goto out;
        }
    }
    if (ferror(f)) {
        rc = cc_err_set(e, CC_EIO, path, L.line, NULL, "read failed: %s", strerror(errno));
        goto out;
    }
    if (L.line == 0) {
        rc = cc_err_set(e, CC_EFORMAT, path, 1, "header",
                        "file is empty; expected the header " AZ_HEADER);
        goto out;
    }
    rc = CC_OK;
out:
    cc_lines_free(&L);
    fclose(f);
    if (rc)
        cc_trace_free(t);
    return rc;
}

int cc_detect_azure(const char *path, const unsigned char *head, size_t head_len)
{
    size_t i = head_len >= 3 && !memcmp(head, "\xEF\xBB\xBF", 3) ? 3 : 0;
    size_t hl = sizeof AZ_HEADER - 1;
    if (head_len - i < hl || memcmp(head + i, AZ_HEADER, hl) != 0)
        return 0;
    return head_len - i == hl || head[i + hl] == '\r' || head[i + hl] == '\n' ? 100 : 0;
}

/* Absolute time of request i in ns since 1970, checked to lie in the years
 * the reader accepts. */
static int abs_time(const cc_trace *t, size_t i, int64_t *ns, const char *path, cc_err *e)
{
    static const int64_t lo = INT64_C(-2208988800) * 1000000000; /* 1900-01-01 00:00:00 */
    static const int64_t hi = INT64_C(7289654400) * 1000000000 - 1; /* 2201-01-01 00:00:00 - 1 ns */
    int64_t a = t->arrival_ns[i];
    if (a < 0 || (i && a < t->arrival_ns[i - 1]))
        return cc_err_set(e, CC_ERANGE, path, 0, "TIMESTAMP",
                          "request %zu: arrival %" PRId64 " ns is negative or before the "
                          "previous one; expected non-decreasing arrivals from 0", i + 1, a);
    if ((t->epoch_ns > 0 && a > INT64_MAX - t->epoch_ns) || t->epoch_ns + a < lo ||
        t->epoch_ns + a > hi)
        return cc_err_set(e, CC_ERANGE, path, 0, "TIMESTAMP",
                          "request %zu: time %" PRId64 " + %" PRId64 " ns since 1970 lies outside "
                          "the years %d..%d", i + 1, t->epoch_ns, a, AZ_YEAR_MIN, AZ_YEAR_MAX);
    *ns = t->epoch_ns + a;
    return CC_OK;
}

int cc_write_azure(const cc_trace *t, const char *path, cc_err *e)
{
    int64_t ns = 0;
    if (!t->timed && t->n)
        return cc_err_set(e, CC_EUNSUP, path, 0, "TIMESTAMP",
                          "the trace has no arrival times, and an Azure trace needs them "
                          "(give it an arrival process with ctxcache gen)");
    for (size_t i = 0; i < t->n; i++) { /* refuse before creating the file */
        int rc = abs_time(t, i, &ns, path, e);
        if (rc)
            return rc;
    }
    cc_outfile out;
    int orc = cc_outfile_open(&out, path, e);
    if (orc)
        return orc;
    FILE *f = out.f;
    fputs(AZ_HEADER "\r\n", f);
    int64_t day = INT64_MIN;
    char date[16] = "";
    for (size_t i = 0; i < t->n; i++) {
        abs_time(t, i, &ns, path, NULL);
        int64_t s = ns / 1000000000, frac = ns % 1000000000;
        if (frac < 0) {
            s--;
            frac += 1000000000;
        }
        int64_t d = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
        if (d != day) {
            time_t ts = (time_t)(d * 86400);
            struct tm tm;
            gmtime_r(&ts, &tm);
            strftime(date, sizeof date, "%Y-%m-%d", &tm);
            day = d;
        }
        int64_t sod = s - d * 86400;
        int hh = (int)(sod / 3600), mm = (int)(sod / 60 % 60), ss = (int)(sod % 60);
        if (frac % 100 == 0)
            fprintf(f, "%s %02d:%02d:%02d.%07" PRId64 ",%u,%u\r\n", date, hh, mm, ss, frac / 100,
                    t->input_tokens[i], t->output_tokens[i]);
        else
            fprintf(f, "%s %02d:%02d:%02d.%09" PRId64 ",%u,%u\r\n", date, hh, mm, ss, frac,
                    t->input_tokens[i], t->output_tokens[i]);
    }
    return cc_outfile_close(&out, path, CC_OK, e);
}
