/*
 * stream.c -- a trace read window by window (traces.h, "streamed reading"),
 * for runs that see each request once in order and keep nothing per
 * request: `ctxcache replay` in concurrency none holds one window and the
 * cache, not the trace.
 *
 * libCacheSim oracleGeneral (lcs-oracle): the file is read with read(2) in
 * windows of `window` 24-byte records (one bulk read each, no per-record
 * call) and decoded into the window's columns as cc_read_lcs_oracle would
 * (lcs.c: one request, one block, hash = obj_id, input = obj_size, arrival
 * = timestamp s).  Each record gets that reader's checks, in file order and
 * with its messages: the size is a multiple of 24, timestamps do not go
 * back, sizes are >= 1, next_access_vtime is -1, -2, INT64_MAX or a later
 * position; a later position inside the same window must hold the same
 * obj_id (the whole-file reader checks every position, which needs the
 * whole file: a streamed replay checks those that land in the window).
 * The trace's block size (its largest object size) is known at the end;
 * windows carry CC_STREAM_BLOCK_TOKENS_ANY.
 *
 * cc_trace_stream_of: windows that are views of a trace in memory (tests
 * compare streamed and whole runs on the same requests with it).
 *
 * Memory: the window's columns (8 + 8 + 4 + 4 + 8 bytes and its 24-byte
 * records per request): about 0.5 MiB for the default 8,192 requests (small
 * enough that a window and the per-request hits of the replay stay in L2).
 */
#include "stream_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ORACLE_RECORD 24
#define NS_PER_S INT64_C(1000000000)

struct cc_trace_stream {
    cc_trace w;          /* the current window (columns owned here, or views) */
    const cc_trace *mem; /* cc_trace_stream_of: the trace the windows view */
    cc_h5_window_reader *h5; /* HDF5: the columns' reader */
    cc_mc_reader *mc;        /* Mooncake JSONL: the line reader */
    int mc_done;
    size_t cap_blocks;
    int fd;
    uint64_t n_total, next; /* records in the file, records read */
    size_t window;
    unsigned char *buf;
    int64_t *next_access;
    uint32_t prev_ts, max_size;
    char format[32], source[512];
    char label_format[32], label_source[512]; /* as the whole-file reader names the trace */
};

static int nomem(cc_err *e, const char *path)
{
    return cc_err_set(e, CC_ENOMEM, path, 0, NULL, "out of memory for the trace window");
}

static uint64_t le(const unsigned char *p, int n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
#else
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
#endif
}

static int never(int64_t next)
{
    return next == -1 || next == -2 || next == INT64_MAX;
}

void cc_trace_stream_close(cc_trace_stream *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    cc_h5_window_close(s->h5);
    cc_mc_reader_close(s->mc);
    free(s->w.block_off);
    if (!s->mem) {
        free(s->w.arrival_ns);
        free(s->w.input_tokens);
        free(s->w.output_tokens);
        free(s->w.blocks);
    }
    free(s->buf);
    free(s->next_access);
    free(s);
}

/* The window's columns for `window` requests (blocks: grown as read for
 * HDF5; one a request for libCacheSim files). */
static int alloc_window(cc_trace_stream *s, size_t window, int blocks)
{
    cc_trace *w = &s->w;
    w->arrival_ns = malloc(window * sizeof *w->arrival_ns);
    w->input_tokens = malloc(window * sizeof *w->input_tokens);
    w->output_tokens = calloc(window, sizeof *w->output_tokens);
    w->block_off = malloc((window + 1) * sizeof *w->block_off);
    if (blocks)
        w->blocks = malloc(window * sizeof *w->blocks);
    return w->arrival_ns && w->input_tokens && w->output_tokens && w->block_off &&
                   (!blocks || w->blocks)
               ? CC_OK
               : CC_ENOMEM;
}

static int open_h5(const char *path, size_t window, cc_trace_stream **out, cc_err *err)
{
    cc_trace_stream *s = calloc(1, sizeof *s);
    if (!s)
        return nomem(err, path);
    s->fd = -1;
    uint32_t bs = 0;
    char fmt[32] = "", src[512] = "";
    int rc = cc_h5_window_open(path, &s->h5, &s->n_total, &bs, fmt, sizeof fmt, src, sizeof src,
                               err);
    if (rc != CC_OK) {
        free(s);
        return rc;
    }
    if (window > s->n_total)
        window = s->n_total ? (size_t)s->n_total : 1;
    s->window = window;
    s->max_size = bs;
    if (alloc_window(s, window, 0) != CC_OK) {
        cc_trace_stream_close(s);
        return nomem(err, path);
    }
    snprintf(s->format, sizeof s->format, "h5");
    snprintf(s->source, sizeof s->source, "%s", path);
    snprintf(s->label_format, sizeof s->label_format, "%s", fmt[0] ? fmt : "h5");
    snprintf(s->label_source, sizeof s->label_source, "%s", src[0] ? src : path);
    s->w.block_size = bs;
    s->w.timed = true;
    snprintf(s->w.source, sizeof s->w.source, "%s", path);
    snprintf(s->w.source_format, sizeof s->w.source_format, "h5");
    *out = s;
    return CC_OK;
}

static int open_mooncake(const char *path, const cc_read_opts *o, size_t window,
                         cc_trace_stream **out, cc_err *err)
{
    cc_trace_stream *s = calloc(1, sizeof *s);
    if (!s)
        return nomem(err, path);
    s->fd = -1;
    snprintf(s->source, sizeof s->source, "%s", path);
    int rc = cc_mc_reader_open(s->source, o, &s->mc, err);
    if (rc != CC_OK) {
        free(s);
        return rc;
    }
    s->n_total = UINT64_MAX; /* unknown until the end */
    s->window = window;
    s->max_size = 512;
    if (alloc_window(s, window, 0) != CC_OK) {
        cc_trace_stream_close(s);
        return nomem(err, path);
    }
    snprintf(s->format, sizeof s->format, "mooncake");
    s->w.block_size = 512;
    s->w.timed = true;
    snprintf(s->w.source, sizeof s->w.source, "%s", path);
    snprintf(s->w.source_format, sizeof s->w.source_format, "mooncake");
    *out = s;
    return CC_OK;
}

/* The next window of a Mooncake file: records until the window is full. */
static int next_mooncake(cc_trace_stream *s, cc_err *err)
{
    cc_trace *w = &s->w;
    w->block_off[0] = 0;
    size_t k = 0;
    while (k < s->window && !s->mc_done) {
        cc_mc_record m;
        int got;
        int rc = cc_mc_reader_next(s->mc, &m, &got, err);
        if (rc != CC_OK)
            return rc;
        if (!got) {
            s->mc_done = 1;
            break;
        }
        uint64_t at = w->block_off[k];
        if (cc_grow((void **)&w->blocks, &s->cap_blocks, at + m.n_blocks + 1, sizeof *w->blocks))
            return cc_err_set(err, CC_ENOMEM, s->source, m.line, NULL, "out of memory");
        memcpy(w->blocks + at, m.blocks, m.n_blocks * sizeof *w->blocks);
        w->arrival_ns[k] = m.arrival_ns;
        w->input_tokens[k] = m.input_tokens;
        w->output_tokens[k] = m.output_tokens;
        w->block_off[k + 1] = at + m.n_blocks;
        k++;
    }
    w->n = k;
    s->next += k;
    if (s->mc_done)
        s->n_total = s->next;
    return CC_OK;
}

int cc_trace_stream_open(const char *path, const char *fmt_name, const cc_read_opts *o,
                         size_t window, cc_trace_stream **out, cc_err *err)
{
    (void)o; /* a libCacheSim trace has one tenant; its hashes are the object ids */
    *out = NULL;
    const cc_format *f = fmt_name ? cc_format_find(fmt_name) : cc_format_detect(path, err);
    if (!f)
        return fmt_name ? cc_err_set(err, CC_EARG, path, 0, "format", "unknown format '%s'",
                                     fmt_name)
                        : err->code ? err->code : CC_EFORMAT;
    if (window == 0)
        window = 8192;
    if (!strcmp(f->name, "h5"))
        return open_h5(path, window, out, err);
    if (!strcmp(f->name, "mooncake"))
        return open_mooncake(path, o, window, out, err);
    if (strcmp(f->name, "lcs-oracle") != 0)
        return cc_err_set(err, CC_EUNSUP, path, 0, "format",
                          "format '%s' is read whole, not streamed", f->name);
    cc_trace_stream *s = calloc(1, sizeof *s);
    if (!s)
        return nomem(err, path);
    s->fd = open(path, O_RDONLY);
    if (s->fd < 0) {
        int e = errno;
        free(s);
        return cc_err_set(err, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(e));
    }
    struct stat st;
    if (fstat(s->fd, &st) != 0) {
        int e = errno;
        cc_trace_stream_close(s);
        return cc_err_set(err, CC_EIO, path, 0, NULL, "cannot stat: %s", strerror(e));
    }
    uint64_t bytes = (uint64_t)st.st_size;
    if (bytes == 0 || bytes % ORACLE_RECORD) {
        cc_trace_stream_close(s);
        if (bytes == 0)
            return cc_err_set(err, CC_EFORMAT, path, 1, "record",
                              "file is empty; expected 24-byte oracleGeneral records");
        return cc_err_set(err, CC_EFORMAT, path, (long)(bytes / ORACLE_RECORD + 1), "record",
                          "file is %" PRIu64 " bytes, not a multiple of the 24-byte record: "
                          "record %" PRIu64 " is truncated to %" PRIu64 " bytes",
                          bytes, bytes / ORACLE_RECORD + 1, bytes % ORACLE_RECORD);
    }
    s->n_total = bytes / ORACLE_RECORD;
    if (window > s->n_total)
        window = (size_t)s->n_total;
    s->window = window;
    snprintf(s->format, sizeof s->format, "lcs-oracle");
    snprintf(s->source, sizeof s->source, "%s", path);
    cc_trace *w = &s->w;
    w->arrival_ns = malloc(window * sizeof *w->arrival_ns);
    w->input_tokens = malloc(window * sizeof *w->input_tokens);
    w->output_tokens = calloc(window, sizeof *w->output_tokens);
    w->block_off = malloc((window + 1) * sizeof *w->block_off);
    w->blocks = malloc(window * sizeof *w->blocks);
    s->buf = malloc(window * ORACLE_RECORD);
    s->next_access = malloc(window * sizeof *s->next_access);
    if (!w->arrival_ns || !w->input_tokens || !w->output_tokens || !w->block_off ||
        !w->blocks || !s->buf || !s->next_access) {
        cc_trace_stream_close(s);
        return nomem(err, path);
    }
    for (size_t i = 0; i <= window; i++)
        w->block_off[i] = i; /* one block a request */
    w->block_size = CC_STREAM_BLOCK_TOKENS_ANY;
    w->timed = true;
    snprintf(w->source, sizeof w->source, "%s", path);
    snprintf(w->source_format, sizeof w->source_format, "lcs-oracle");
    *out = s;
    return CC_OK;
}

int cc_trace_stream_of(const cc_trace *t, size_t window, cc_trace_stream **out, cc_err *err)
{
    *out = NULL;
    if (window == 0)
        window = 8192;
    cc_trace_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->w.block_off = malloc((window + 1) * sizeof *s->w.block_off))) {
        free(s);
        return nomem(err, t->source);
    }
    s->fd = -1;
    s->mem = t;
    s->n_total = t->n;
    s->window = window;
    s->max_size = t->block_size;
    snprintf(s->format, sizeof s->format, "%s", t->source_format);
    snprintf(s->source, sizeof s->source, "%s", t->source);
    s->w.block_size = t->block_size;
    s->w.timed = t->timed;
    snprintf(s->w.source, sizeof s->w.source, "%s", t->source);
    snprintf(s->w.source_format, sizeof s->w.source_format, "%s", t->source_format);
    *out = s;
    return CC_OK;
}

/* The next window of an in-memory trace: views of its columns. */
static int next_of_memory(cc_trace_stream *s)
{
    const cc_trace *t = s->mem;
    cc_trace *w = &s->w;
    size_t a = (size_t)s->next, n = t->n - a < s->window ? t->n - a : s->window;
    w->n = n;
    w->arrival_ns = t->arrival_ns + a;
    w->input_tokens = t->input_tokens + a;
    w->output_tokens = t->output_tokens + a;
    w->blocks = t->blocks ? t->blocks + t->block_off[a] : NULL;
    for (size_t i = 0; i <= n; i++)
        w->block_off[i] = t->block_off[a + i] - t->block_off[a];
    s->next += n;
    return CC_OK;
}

int cc_trace_stream_next(cc_trace_stream *s, const cc_trace **wp, cc_err *err)
{
    cc_trace *w = &s->w;
    *wp = w;
    w->n = 0;
    if (s->mc)
        return next_mooncake(s, err);
    uint64_t left = s->n_total - s->next;
    size_t want = left < s->window ? (size_t)left : s->window;
    if (!want)
        return CC_OK;
    if (s->mem)
        return next_of_memory(s);
    if (s->h5) {
        int rc = cc_h5_window_read(s->h5, s->next, want, w, &s->cap_blocks, err);
        if (rc != CC_OK)
            return rc;
        s->next += want;
        w->n = want;
        return CC_OK;
    }
    size_t got = 0, bytes = want * ORACLE_RECORD;
    while (got < bytes) {
        ssize_t r = read(s->fd, s->buf + got, bytes - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return cc_err_set(err, CC_EIO, s->source, (long)(s->next + got / ORACLE_RECORD + 1),
                              "record", "read failed or the file shrank while being read");
        got += (size_t)r;
    }
    const char *path = s->source;
    uint64_t base = s->next;
    /* Decoded without a branch on the checks (they hold in any trace worth
     * replaying): the running maximum size and last timestamp in locals,
     * any fault or forward reference noted; a window with a fault is then
     * checked again from its decoded columns, one record at a time, for the
     * message of the first. */
    uint32_t prev = s->prev_ts, maxs = s->max_size, bad = 0, fwd = 0;
    for (size_t k = 0; k < want; k++) {
        const unsigned char *p = s->buf + k * ORACLE_RECORD;
        uint32_t ts = (uint32_t)le(p, 4), size = (uint32_t)le(p + 12, 4);
        uint64_t id = le(p + 4, 8);
        int64_t next = (int64_t)le(p + 16, 8);
        uint32_t nev = ((uint64_t)next + 2 <= 1) | (next == INT64_MAX); /* never(next) */
        bad |= (ts < prev) | (size == 0) | (!nev & (next <= (int64_t)(base + k + 1)));
        fwd |= !nev;
        prev = ts;
        maxs = size > maxs ? size : maxs;
        w->arrival_ns[k] = (int64_t)ts * NS_PER_S;
        w->input_tokens[k] = size;
        w->blocks[k] = id;
        s->next_access[k] = next;
    }
    for (size_t k = 0; bad && k < want; k++) {
        uint32_t ts = (uint32_t)(w->arrival_ns[k] / NS_PER_S), size = w->input_tokens[k];
        uint32_t was = k ? (uint32_t)(w->arrival_ns[k - 1] / NS_PER_S) : s->prev_ts;
        int64_t next = s->next_access[k];
        uint64_t i = base + k;
        long rec = (long)(i + 1);
        if (i && ts < was)
            return cc_err_set(err, CC_ERANGE, path, rec, "timestamp",
                              "%" PRIu32 " s is before the previous record's %" PRIu32
                              " s; expected non-decreasing timestamps", ts, was);
        if (size == 0)
            return cc_err_set(err, CC_ERANGE, path, rec, "obj_size",
                              "0; expected an object size >= 1 (libCacheSim skips "
                              "size-0 requests; drop them before converting)");
        if (!never(next) && next <= (int64_t)(i + 1))
            return cc_err_set(err, CC_ERANGE, path, rec, "next_access_vtime",
                              "%" PRId64 "; expected a later record (> %ld), -1 (never "
                              "again) or -2 (not recorded)", next, rec);
    }
    s->prev_ts = prev;
    s->max_size = maxs;
    if (!fwd) {
        s->next += want;
        w->n = want;
        return CC_OK;
    }
    /* forward references inside the window must name the same object */
    for (size_t k = 0; k < want; k++) {
        int64_t nx = s->next_access[k];
        if (never(nx) || (uint64_t)nx > base + want)
            continue;
        uint64_t j = (uint64_t)nx - 1 - base;
        if (w->blocks[j] != w->blocks[k])
            return cc_err_set(err, CC_EFORMAT, path, (long)(base + k + 1), "next_access_vtime",
                              "says obj_id %" PRIu64 " is requested next at record %" PRId64
                              ", but that record requests obj_id %" PRIu64
                              "; expected 1-based positions of the next request",
                              w->blocks[k], nx, w->blocks[j]);
    }
    s->next += want;
    w->n = want;
    return CC_OK;
}

uint32_t cc_trace_stream_block_size(const cc_trace_stream *s)
{
    if (s->mem)
        return s->mem->block_size;
    if (s->h5 || s->mc)
        return s->max_size;
    return s->next == s->n_total && s->n_total ? s->max_size : CC_STREAM_BLOCK_TOKENS_ANY;
}

uint64_t cc_trace_stream_requests(const cc_trace_stream *s)
{
    return s->n_total;
}

uint64_t cc_trace_stream_accesses(const cc_trace_stream *s)
{
    if (s->mem)
        return s->mem->n ? s->mem->block_off[s->mem->n] : 0;
    if (s->h5)
        return cc_h5_window_blocks(s->h5);
    if (s->mc)
        return UINT64_MAX;
    return s->n_total; /* libCacheSim: one block a request */
}

const char *cc_trace_stream_format(const cc_trace_stream *s)
{
    return s->format;
}

const char *cc_trace_stream_source(const cc_trace_stream *s)
{
    return s->source;
}

const char *cc_trace_stream_label_format(const cc_trace_stream *s)
{
    return s->label_format[0] ? s->label_format : s->format;
}

const char *cc_trace_stream_label_source(const cc_trace_stream *s)
{
    return s->label_source[0] ? s->label_source : s->source;
}
