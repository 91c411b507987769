/*
 * lcs.c -- libCacheSim's `csv` and `oracleGeneral` trace formats, read and
 * written, so that block-access sequences move between ctxcache and
 * libCacheSim's `cachesim` (learned from libCacheSim's docs, its readers and
 * its sample data; no code taken from it).
 *
 * The two formats
 * ---------------
 * oracleGeneral ("lcs-oracle"): a headerless binary file of 24-byte records,
 * packed little-endian, one per request:
 *     uint32 timestamp (s) | uint64 obj_id | uint32 obj_size | int64 next_access_vtime
 * next_access_vtime is the 1-based position in the file of the next request
 * for the same obj_id, or -1 when there is none (libCacheSim's converter
 * writes -1; its reader also takes INT64_MAX as "never", and its trace filter
 * writes -2 for "not recorded").  Checked on libCacheSim's sample
 * data/cloudPhysicsIO.oracleGeneral.bin: all 113,872 records follow the
 * 1-based rule (its FAQ's "distance" wording is not what the files hold).
 * There is no magic number: the detector goes by the name (libCacheSim
 * itself detects "oracleGeneral" in the path), size % 24 == 0 and plausible
 * records in the first 4 KiB (95 with the name, 40 for a plain .bin, 10 for
 * binary content under any other name, 50 for a name-only match so that the
 * reader reports what is wrong).
 *
 * csv ("lcs-csv"): text, one request per row.  libCacheSim's reader is told
 * the columns on the command line; ctxcache writes
 *     timestamp,obj_id,obj_size          (header line, then rows)
 * which `cachesim` reads with
 *     cachesim FILE.csv csv lru 1000 --ignore-obj-size 1 \
 *       -t "time-col=1, obj-id-col=2, obj-size-col=3, delimiter=,, has-header=true"
 * (add obj-id-is-num=true to use the ids as numbers rather than hash their
 * text; miss ratios are the same either way).
 *
 * Writing a ctxcache trace (both formats)
 * ---------------------------------------
 * One row/record per block access, requests in order and each request's
 * blocks in chain order.  obj_id = the block hash (csv: decimal uint64),
 * obj_size = 1 (blocks as unit objects, as in the reference figures; a
 * cache's capacity is then counted in blocks).  timestamp = the request's
 * arrival in seconds since the trace's start (arrival_ns / 1e9): csv writes
 * it exactly as a decimal ("12", "3.5", "0.000000001"; integer when whole,
 * which libCacheSim truncates to whole seconds); oracle writes whole seconds
 * (floor) as uint32, so arrivals past 2^32 s fail with CC_ERANGE.  Oracle
 * next_access_vtime is computed exactly by one backward pass with a u64 map.
 * A trace without block hashes cannot be written (CC_EUNSUP).  Output goes
 * to a temporary file renamed into place, so a failed write leaves nothing.
 *
 * Reading a libCacheSim trace (both formats)
 * ------------------------------------------
 * Each row/record becomes one request with a single block: hash = obj_id,
 * input_tokens = obj_size (its unit is whatever the trace's sizes count:
 * bytes, blocks, ...), arrival_ns = timestamp * 1e9 (kept as is, not shifted
 * to start at 0), session_id = the record's 0-based index (no conversation
 * structure), turn 0, output_tokens 0, tenant = opts->tenant or "default".
 * block_size = the largest obj_size in the trace, so every request's single
 * block is ceil(size / block_size) = 1 block (a smaller object is a partial
 * block, the Mooncake convention) and a hit counts exactly the object's
 * size; with unit objects block_size is 1.  obj_size 0 is rejected
 * (libCacheSim skips such rows by default; ctxcache does not drop rows
 * silently).  Timestamps must not go backwards.  next_access_vtime is
 * checked, not kept: -1, -2 or INT64_MAX, or a later position; a position
 * inside the file must hold the same obj_id (one beyond the end is allowed:
 * traces are often cut with head -c).
 *
 * csv variants accepted: delimiter ',' '\t' '|' ';' or ':' (the most common
 * of them on the first line); a header or none (a first line with any
 * non-numeric field is a header; a leading '#' is ignored, as in
 * libCacheSim's tracePrint output); fields may be quoted and padded with
 * spaces; CRLF line ends; blank lines are skipped.  Header names, compared
 * case-insensitively with '-' and ' ' read as '_':
 *     time:     timestamp time ts clock_time real_time
 *     obj_id:   obj_id objid object_id object obj id key hash_id block_id lbn lba
 *     obj_size: obj_size size object_size bytes
 * other columns are ignored; obj_id is required, no time column gives an
 * untimed trace, no size column gives size 1.  Without a header the columns
 * are time, obj_id[, obj_size, ...] (ctxcache's and tracePrint's order).
 * Values: time = non-negative decimal seconds (fraction and exponent
 * allowed, kept to the nanosecond), non-decreasing; obj_id = decimal or 0x
 * hex uint64 (string ids are refused: libCacheSim would hash them);
 * obj_size = 1..2^32-1.  Every row must have the first line's field count.
 * Errors name the line and the column (the header's name for it).
 *
 * Costs: reading is one pass, O(records), 8 bytes of hash plus 65 bytes of
 * request columns per record (oracle: +8 bytes per record while checking
 * next_access_vtime), held to the memory bound (traces.h): csv checks each
 * row, oracle the whole file from its size before reading.  Writing csv is one pass; writing oracle is two passes
 * plus a u64 map over distinct blocks (<= 32 bytes each) and 8 bytes per
 * access for the next-access column.
 */
#include "traces.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ORACLE_RECORD 24
#define ORACLE_NEVER INT64_C(-1)
#define ORACLE_UNKNOWN INT64_C(-2)
#define WRITE_OBJ_SIZE 1
#define NS_PER_S INT64_C(1000000000)
#define MAX_TIME_S (INT64_MAX / NS_PER_S) /* arrival_ns must fit int64 */
#define CSV_MAX_FIELDS 64
#define CSV_NAME_LEN 64

/* ---- shared: building requests, atomic output ---------------------------- */

static int nomem(cc_err *e, const char *path, long line)
{
    return cc_err_set(e, CC_ENOMEM, path, line, NULL, "out of memory");
}

/* Starts a trace for a reader: tenant index for its requests. */
static int start_trace(cc_trace *t, const char *path, const char *fmt,
                       const cc_read_opts *o, uint32_t *tenant, cc_err *e)
{
    cc_trace_init(t);
    snprintf(t->source, sizeof t->source, "%s", path);
    snprintf(t->source_format, sizeof t->source_format, "%s", fmt);
    if (cc_trace_tenant(t, "default", tenant) ||
        (o && o->tenant && cc_trace_tenant(t, o->tenant, tenant))) {
        cc_trace_free(t);
        return nomem(e, path, 0);
    }
    return CC_OK;
}

static int append_access(cc_trace *t, uint32_t tenant, int64_t arrival_ns, uint64_t obj_id,
                         uint32_t obj_size)
{
    cc_request r = {0};
    r.arrival_ns = arrival_ns;
    r.session_id = t->n;
    r.tenant = tenant;
    r.input_tokens = obj_size;
    r.group_id = CC_NO_GROUP;
    r.role = CC_ROLE_QUERY;
    r.n_blocks = 1;
    r.blocks = &obj_id;
    if (obj_size > t->block_size)
        t->block_size = obj_size;
    return cc_trace_append(t, &r);
}

static int need_blocks(const cc_trace *t, const char *path, cc_err *e)
{
    if (cc_trace_n_blocks_total(t) == 0)
        return cc_err_set(e, CC_EUNSUP, path, 0, "blocks",
                          "the trace has no block accesses to write (%zu requests, no block "
                          "hashes); libCacheSim formats hold one object per block access",
                          t->n);
    return CC_OK;
}

/* ---- csv: writing ---------------------------------------------------------- */

/* Exact decimal seconds of a non-negative ns count: "12", "3.5", "0.000000001". */
static void format_seconds(int64_t ns, char *buf, size_t len)
{
    int64_t s = ns / NS_PER_S, frac = ns % NS_PER_S;
    if (!frac) {
        snprintf(buf, len, "%" PRId64, s);
        return;
    }
    int digits = 9;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    snprintf(buf, len, "%" PRId64 ".%0*" PRId64, s, digits, frac);
}

int cc_write_lcs_csv(const cc_trace *t, const char *path, cc_err *e)
{
    int rc = need_blocks(t, path, e);
    if (rc)
        return rc;
    cc_outfile o;
    if ((rc = cc_outfile_open(&o, path, e)))
        return rc;
    fputs("timestamp,obj_id,obj_size\n", o.f);
    for (size_t i = 0; i < t->n && rc == CC_OK; i++) {
        if (t->arrival_ns[i] < 0) {
            rc = cc_err_set(e, CC_ERANGE, path, 0, "arrival_ns",
                            "request %zu: arrival %" PRId64 " ns is negative", i + 1,
                            t->arrival_ns[i]);
            break;
        }
        char ts[48];
        format_seconds(t->arrival_ns[i], ts, sizeof ts);
        for (uint64_t b = t->block_off[i]; b < t->block_off[i + 1]; b++)
            fprintf(o.f, "%s,%" PRIu64 ",%d\n", ts, t->blocks[b], WRITE_OBJ_SIZE);
        if (ferror(o.f))
            break; /* reported by out_close */
    }
    return cc_outfile_close(&o, path, rc, e);
}

/* ---- csv: reading ---------------------------------------------------------- */

enum { COL_TIME, COL_ID, COL_SIZE, N_ROLES };
static const char *const role_names[N_ROLES] = {"timestamp", "obj_id", "obj_size"};
static const char *const time_names[] = {"timestamp", "time", "ts", "clock_time", "real_time",
                                         NULL};
static const char *const id_names[] = {"obj_id", "objid", "object_id", "object", "obj", "id",
                                       "key", "hash_id", "block_id", "lbn", "lba", NULL};
static const char *const size_names[] = {"obj_size", "size", "object_size", "bytes", NULL};
static const char *const *const role_aliases[N_ROLES] = {time_names, id_names, size_names};

typedef struct csv_layout {
    char delim;
    int has_header;
    int n_fields;               /* every row must have this many */
    int col[N_ROLES];           /* 0-based column of each role, -1 = absent */
    char names[CSV_MAX_FIELDS][CSV_NAME_LEN]; /* column names for errors */
} csv_layout;

typedef struct csv_field {
    const char *s;
    size_t len;
} csv_field;

/* Splits line[0..len) at delim into fields (trimmed, outer quotes removed).
 * Returns the field count, or -1 when there are more than CSV_MAX_FIELDS. */
static int split_fields(const char *line, size_t len, char delim, csv_field *f)
{
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != delim)
            continue;
        if (n == CSV_MAX_FIELDS)
            return -1;
        const char *s = line + start;
        size_t l = i - start;
        while (l && (*s == ' ' || (*s == '\t' && delim != '\t'))) {
            s++;
            l--;
        }
        while (l && (s[l - 1] == ' ' || (s[l - 1] == '\t' && delim != '\t')))
            l--;
        if (l >= 2 && s[0] == '"' && s[l - 1] == '"') {
            s++;
            l -= 2;
        }
        f[n].s = s;
        f[n].len = l;
        n++;
        start = i + 1;
    }
    return n;
}

/* Non-negative integer: decimal, or hex with 0x.  0 ok, CC_EFORMAT not a
 * number, CC_ERANGE negative or over 2^64-1. */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0)
        return CC_EFORMAT;
    if (s[0] == '-') {
        for (size_t i = 1; i < len; i++)
            if (!isdigit((unsigned char)s[i]))
                return CC_EFORMAT;
        return len > 1 ? CC_ERANGE : CC_EFORMAT;
    }
    size_t i = 0;
    int base = 10;
    if (s[0] == '+')
        i = 1;
    if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
    }
    if (i == len)
        return CC_EFORMAT;
    uint64_t v = 0;
    for (; i < len; i++) {
        int d;
        unsigned char c = (unsigned char)s[i];
        if (isdigit(c))
            d = c - '0';
        else if (base == 16 && isxdigit(c))
            d = tolower(c) - 'a' + 10;
        else
            return CC_EFORMAT;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return CC_ERANGE;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return CC_OK;
}

/* Non-negative decimal seconds to ns: "12", "12.5", "1.5e3" (exponent forms
 * go through strtod and are rounded to the ns).  CC_EFORMAT not a number,
 * CC_ERANGE negative or beyond what int64 ns can hold. */
static int parse_seconds(const char *s, size_t len, int64_t *ns)
{
    if (len == 0 || len > 60)
        return CC_EFORMAT;
    int neg = s[0] == '-';
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    size_t int_start = i;
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    size_t int_end = i, frac_start = i, frac_end = i;
    if (i < len && s[i] == '.') {
        frac_start = ++i;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        frac_end = i;
    }
    if (int_end == int_start && frac_end == frac_start)
        return CC_EFORMAT; /* no digits at all */
    if (i < len) {
        if (s[i] != 'e' && s[i] != 'E')
            return CC_EFORMAT;
        size_t j = i + 1;
        if (j < len && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j == len)
            return CC_EFORMAT;
        for (; j < len; j++)
            if (!isdigit((unsigned char)s[j]))
                return CC_EFORMAT;
        char buf[64];
        memcpy(buf, s, len);
        buf[len] = '\0';
        double v = strtod(buf, NULL);
        if (!isfinite(v))
            return CC_ERANGE;
        if (neg && v != 0)
            return CC_ERANGE;
        if (v >= (double)MAX_TIME_S)
            return CC_ERANGE;
        *ns = (int64_t)llround(v * 1e9);
        return CC_OK;
    }
    int64_t sec = 0;
    for (size_t k = int_start; k < int_end; k++) {
        if (sec > MAX_TIME_S / 10)
            return CC_ERANGE;
        sec = sec * 10 + (s[k] - '0');
    }
    int64_t frac = 0;
    int digits = 0;
    for (size_t k = frac_start; k < frac_end && digits < 9; k++, digits++)
        frac = frac * 10 + (s[k] - '0');
    for (; digits < 9; digits++)
        frac *= 10;
    if (neg && (sec || frac))
        return CC_ERANGE;
    if (sec > MAX_TIME_S || (sec == MAX_TIME_S && frac > INT64_MAX % NS_PER_S))
        return CC_ERANGE;
    *ns = sec * NS_PER_S + frac;
    return CC_OK;
}

static int is_numeric(const csv_field *f)
{
    uint64_t u;
    int64_t ns;
    return parse_u64(f->s, f->len, &u) != CC_EFORMAT || parse_seconds(f->s, f->len, &ns) != CC_EFORMAT;
}

/* Header name -> role, or -1. */
static int role_of_name(const char *s, size_t len)
{
    char norm[CSV_NAME_LEN];
    if (len == 0 || len >= sizeof norm)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)s[i]);
        norm[i] = (c == '-' || c == ' ') ? '_' : c;
    }
    norm[len] = '\0';
    for (int r = 0; r < N_ROLES; r++)
        for (const char *const *a = role_aliases[r]; *a; a++)
            if (strcmp(norm, *a) == 0)
                return r;
    return -1;
}

/* First byte of line[0..len) that is not printable ASCII or tab; -1 if none. */
static long bad_byte(const unsigned char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((line[i] < 0x20 && line[i] != '\t') || line[i] >= 0x7f)
            return (long)i;
    return -1;
}

static char pick_delimiter(const char *line, size_t len)
{
    static const char cands[] = {',', '\t', '|', ';', ':'};
    char best = ',';
    size_t best_n = 0;
    for (size_t c = 0; c < sizeof cands; c++) {
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
            n += line[i] == cands[c];
        if (n > best_n) {
            best_n = n;
            best = cands[c];
        }
    }
    return best;
}

/* Works out delimiter, header and columns from the first non-blank line
 * (already stripped of its line end); L->has_header says whether that line
 * is a header or the first row of data. */
static int csv_layout_from(csv_layout *L, const char *line, size_t len, const char *path,
                           cc_err *e)
{
    csv_field f[CSV_MAX_FIELDS];
    const char *p = line;
    size_t plen = len;
    L->delim = pick_delimiter(line, len);
    int n = split_fields(p, plen, L->delim, f);
    if (n < 0)
        return cc_err_set(e, CC_EFORMAT, path, 1, "header",
                          "more than %d columns; expected a libCacheSim csv trace",
                          CSV_MAX_FIELDS);
    L->has_header = 0;
    for (int k = 0; k < n; k++)
        if (f[k].len && !is_numeric(&f[k]))
            L->has_header = 1;
    if (L->has_header && plen && p[0] == '#') {
        p++;
        plen--;
        n = split_fields(p, plen, L->delim, f);
    }
    if (n < 0)
        n = 0;
    if (n < 2)
        return cc_err_set(e, CC_EFORMAT, path, 1, L->has_header ? "header" : "obj_id",
                          "found %d column; expected at least two (time and obj_id) "
                          "separated by ',', tab, '|', ';' or ':'", n);
    L->n_fields = n;
    for (int r = 0; r < N_ROLES; r++)
        L->col[r] = -1;
    if (!L->has_header) {
        L->col[COL_TIME] = 0;
        L->col[COL_ID] = 1;
        if (n >= 3)
            L->col[COL_SIZE] = 2;
        for (int k = 0; k < n; k++) {
            if (k < N_ROLES)
                snprintf(L->names[k], CSV_NAME_LEN, "%s", role_names[k]);
            else
                snprintf(L->names[k], CSV_NAME_LEN, "column %d", k + 1);
        }
        return CC_OK;
    }
    for (int k = 0; k < n; k++) {
        snprintf(L->names[k], CSV_NAME_LEN, "%.*s", (int)f[k].len, f[k].s);
        int r = role_of_name(f[k].s, f[k].len);
        if (r < 0)
            continue;
        if (L->col[r] >= 0)
            return cc_err_set(e, CC_EFORMAT, path, 1, L->names[k],
                              "columns %d ('%s') and %d ('%s') both name the %s; expected "
                              "one", L->col[r] + 1, L->names[L->col[r]], k + 1, L->names[k],
                              role_names[r]);
        L->col[r] = k;
    }
    if (L->col[COL_ID] < 0)
        return cc_err_set(e, CC_EFORMAT, path, 1, "header",
                          "the header names no object id column; expected one of obj_id, "
                          "objid, object_id, object, obj, id, key, hash_id, block_id, lbn, "
                          "lba (time: timestamp, time, ts, clock_time, real_time; size: "
                          "obj_size, size, object_size, bytes)");
    return CC_OK;
}

/* Which column (0-based) byte offset off of a row falls in. */
static int column_at(const char *line, size_t off, char delim)
{
    int c = 0;
    for (size_t i = 0; i < off; i++)
        c += line[i] == delim;
    return c;
}

static const char *col_name(const csv_layout *L, int k)
{
    return k >= 0 && k < L->n_fields ? L->names[k] : "columns";
}

int cc_read_lcs_csv(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    uint32_t tenant = 0;
    cc_trace_init(t);
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(errno));
    int rc = start_trace(t, path, "lcs-csv", o, &tenant, e);
    const uint64_t bound = cc_trace_memory_bound(o);
    csv_layout *L = malloc(sizeof *L);
    if (rc || !L) {
        free(L);
        fclose(f);
        cc_trace_free(t);
        return rc ? rc : nomem(e, path, 0);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long lineno = 0;
    int have_layout = 0;
    int64_t prev_ns = 0;
    csv_field fl[CSV_MAX_FIELDS];
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        long bad = bad_byte((const unsigned char *)line, len);
        if (bad >= 0) {
            unsigned char b = (unsigned char)line[bad];
            const char *field = have_layout ? col_name(L, column_at(line, (size_t)bad, L->delim))
                                            : "header";
            rc = cc_err_set(e, CC_EFORMAT, path, lineno, field,
                            "byte 0x%02x at column %ld: %s", b, bad + 1,
                            b >= 0x80 ? "non-ASCII (invalid here: libCacheSim csv traces are "
                                        "ASCII numbers)"
                                      : "control byte; expected text (for a binary "
                                        "oracleGeneral trace use --format lcs-oracle)");
            break;
        }
        size_t nonblank = 0;
        while (nonblank < len && (line[nonblank] == ' ' || line[nonblank] == '\t'))
            nonblank++;
        if (nonblank == len)
            continue; /* blank line: no record */
        if (!have_layout) {
            if ((rc = csv_layout_from(L, line, len, path, e)))
                break;
            have_layout = 1;
            if (L->has_header)
                continue;
        }
        int n = split_fields(line, len, L->delim, fl);
        if (n != L->n_fields) {
            int missing = n >= 0 && n < L->n_fields;
            rc = cc_err_set(e, CC_EFORMAT, path, lineno, missing ? col_name(L, n) : "columns",
                            "found %d fields, expected %d as on the first line%s",
                            n < 0 ? CSV_MAX_FIELDS + 1 : n, L->n_fields,
                            missing ? " (missing field; truncated line?)" : "");
            break;
        }
        int64_t ns = 0;
        uint64_t id = 0, size = 1;
        int k;
        if ((k = L->col[COL_TIME]) >= 0) {
            int pr = parse_seconds(fl[k].s, fl[k].len, &ns);
            if (pr) {
                rc = cc_err_set(e, pr, path, lineno, col_name(L, k),
                                pr == CC_ERANGE ? "'%.*s' is out of range; expected seconds "
                                                  "in 0..9223372036"
                                                : "'%.*s' is not a number; expected "
                                                  "non-negative decimal seconds",
                                (int)(fl[k].len > 40 ? 40 : fl[k].len), fl[k].s);
                break;
            }
            if (t->n && ns < prev_ns) {
                rc = cc_err_set(e, CC_ERANGE, path, lineno, col_name(L, k),
                                "time %.*s s is before the previous row's; expected "
                                "non-decreasing timestamps",
                                (int)(fl[k].len > 40 ? 40 : fl[k].len), fl[k].s);
                break;
            }
            prev_ns = ns;
        }
        k = L->col[COL_ID];
        int pr = parse_u64(fl[k].s, fl[k].len, &id);
        if (pr) {
            rc = cc_err_set(e, pr, path, lineno, col_name(L, k),
                            pr == CC_ERANGE ? "'%.*s' is out of range; expected an unsigned "
                                              "64-bit id"
                                            : "'%.*s' is not a number; expected a decimal or "
                                              "0x-hex unsigned 64-bit id",
                            (int)(fl[k].len > 40 ? 40 : fl[k].len), fl[k].s);
            break;
        }
        if ((k = L->col[COL_SIZE]) >= 0) {
            pr = parse_u64(fl[k].s, fl[k].len, &size);
            if (pr == CC_OK && (size == 0 || size > UINT32_MAX))
                pr = CC_ERANGE;
            if (pr) {
                rc = cc_err_set(e, pr, path, lineno, col_name(L, k),
                                "'%.*s': expected an object size in 1..4294967295",
                                (int)(fl[k].len > 40 ? 40 : fl[k].len), fl[k].s);
                break;
            }
        }
        /* the memory bound (traces.h), one row at a time */
        uint64_t need = cc_trace_bytes_for(t->n + 1, t->n + 1, 0, 0, 0, 0);
        if (need > bound) {
            rc = cc_trace_bound_error(path, lineno, "records", "the trace's requests so far",
                                      need, bound, e);
            break;
        }
        if (append_access(t, tenant, ns, id, (uint32_t)size)) {
            rc = nomem(e, path, lineno);
            break;
        }
    }
    if (rc == CC_OK && ferror(f))
        rc = cc_err_set(e, CC_EIO, path, lineno + 1, NULL, "read failed");
    if (rc == CC_OK && t->n == 0)
        rc = cc_err_set(e, CC_EFORMAT, path, lineno ? lineno : 1, "records",
                        have_layout ? "no rows after the header; expected at least one access"
                                    : "file is empty; expected a libCacheSim csv trace");
    if (rc == CC_OK)
        t->timed = L->col[COL_TIME] >= 0;
    free(line);
    free(L);
    fclose(f);
    if (rc != CC_OK)
        cc_trace_free(t);
    return rc;
}

/* ---- oracleGeneral: records --------------------------------------------- */

typedef struct oracle_rec {
    uint32_t ts;
    uint64_t id;
    uint32_t size;
    int64_t next;
} oracle_rec;

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        p[i] = (unsigned char)v;
}

static oracle_rec decode(const unsigned char *p)
{
    oracle_rec r;
    r.ts = (uint32_t)get_le(p, 4);
    r.id = get_le(p + 4, 8);
    r.size = (uint32_t)get_le(p + 12, 4);
    r.next = (int64_t)get_le(p + 16, 8);
    return r;
}

static int next_is_never(int64_t next)
{
    return next == ORACLE_NEVER || next == ORACLE_UNKNOWN || next == INT64_MAX;
}

/* ---- oracleGeneral: writing ------------------------------------------------ */

int cc_write_lcs_oracle(const cc_trace *t, const char *path, cc_err *e)
{
    int rc = need_blocks(t, path, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < t->n; i++)
        if (t->arrival_ns[i] < 0 || t->arrival_ns[i] / NS_PER_S > UINT32_MAX)
            return cc_err_set(e, CC_ERANGE, path, 0, "arrival_ns",
                              "request %zu: arrival %" PRId64 " ns does not fit oracleGeneral's "
                              "uint32 seconds (0..4294967295 s)", i + 1, t->arrival_ns[i]);
    size_t total = cc_trace_n_blocks_total(t);
    int64_t *next = malloc(total * sizeof *next);
    cc_u64map last;
    if (!next)
        return nomem(e, path, 0);
    if (cc_u64map_init(&last, total / 4 + 16)) {
        free(next);
        return nomem(e, path, 0);
    }
    /* backward pass: last[h] = 1-based position of h's nearest later access */
    for (size_t k = total; k-- > 0;) {
        uint64_t *slot;
        int put = cc_u64map_put(&last, t->blocks[k], (uint64_t)k + 1, &slot);
        if (put < 0) {
            rc = nomem(e, path, 0);
            break;
        }
        if (put == 1) {
            next[k] = ORACLE_NEVER;
        } else {
            next[k] = (int64_t)*slot;
            *slot = (uint64_t)k + 1;
        }
    }
    cc_u64map_free(&last);
    cc_outfile o;
    if (rc == CC_OK && (rc = cc_outfile_open(&o, path, e)) == CC_OK) {
        enum { CHUNK = 4096 };
        unsigned char *buf = malloc((size_t)CHUNK * ORACLE_RECORD);
        if (!buf)
            rc = nomem(e, path, 0);
        size_t fill = 0;
        for (size_t i = 0; i < t->n && rc == CC_OK; i++) {
            uint32_t ts = (uint32_t)(t->arrival_ns[i] / NS_PER_S);
            for (uint64_t b = t->block_off[i]; b < t->block_off[i + 1]; b++) {
                unsigned char *p = buf + fill * ORACLE_RECORD;
                put_le(p, ts, 4);
                put_le(p + 4, t->blocks[b], 8);
                put_le(p + 12, WRITE_OBJ_SIZE, 4);
                put_le(p + 16, (uint64_t)next[b], 8);
                if (++fill == CHUNK) {
                    fwrite(buf, ORACLE_RECORD, fill, o.f);
                    fill = 0;
                }
            }
        }
        if (rc == CC_OK && fill)
            fwrite(buf, ORACLE_RECORD, fill, o.f);
        free(buf);
        rc = cc_outfile_close(&o, path, rc, e);
    }
    free(next);
    return rc;
}

/* ---- oracleGeneral: reading ------------------------------------------------ */

int cc_read_lcs_oracle(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    uint32_t tenant = 0;
    cc_trace_init(t);
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot stat: %s", strerror(errno));
    }
    uint64_t bytes = (uint64_t)st.st_size;
    if (bytes == 0 || bytes % ORACLE_RECORD) {
        fclose(f);
        if (bytes == 0)
            return cc_err_set(e, CC_EFORMAT, path, 1, "record",
                              "file is empty; expected 24-byte oracleGeneral records");
        return cc_err_set(e, CC_EFORMAT, path, (long)(bytes / ORACLE_RECORD + 1), "record",
                          "file is %" PRIu64 " bytes, not a multiple of the 24-byte record: "
                          "record %" PRIu64 " is truncated to %" PRIu64 " bytes",
                          bytes, bytes / ORACLE_RECORD + 1, bytes % ORACLE_RECORD);
    }
    uint64_t n = bytes / ORACLE_RECORD;
    /* the memory bound (traces.h): the requests, and next_access_vtime while
     * it is checked, known from the size before anything is allocated */
    uint64_t need = cc_trace_bytes_for(n, n, 0, 0, 0, 0) + n * sizeof(int64_t);
    if (need > cc_trace_memory_bound(o)) {
        fclose(f);
        char what[96];
        snprintf(what, sizeof what, "a trace of %" PRIu64 " records (%d bytes each)", n,
                 CC_TRACE_REQUEST_BYTES + 16);
        return cc_trace_bound_error(path, 0, "records", what, need, cc_trace_memory_bound(o), e);
    }
    int rc = start_trace(t, path, "lcs-oracle", o, &tenant, e);
    int64_t *next = malloc(n * sizeof *next);
    enum { CHUNK = 4096 };
    unsigned char *buf = malloc((size_t)CHUNK * ORACLE_RECORD);
    if (rc == CC_OK && (!next || !buf))
        rc = nomem(e, path, 0);
    uint64_t i = 0;  /* records read */
    uint32_t prev_ts = 0;
    while (rc == CC_OK && i < n) {
        size_t want = n - i < CHUNK ? (size_t)(n - i) : CHUNK;
        size_t got = fread(buf, ORACLE_RECORD, want, f);
        if (got != want) {
            rc = cc_err_set(e, CC_EIO, path, (long)(i + got + 1), "record",
                            "read failed or the file shrank while being read");
            break;
        }
        for (size_t k = 0; k < got && rc == CC_OK; k++, i++) {
            oracle_rec r = decode(buf + k * ORACLE_RECORD);
            long rec = (long)(i + 1);
            if (i && r.ts < prev_ts)
                rc = cc_err_set(e, CC_ERANGE, path, rec, "timestamp",
                                "%" PRIu32 " s is before the previous record's %" PRIu32
                                " s; expected non-decreasing timestamps", r.ts, prev_ts);
            else if (r.size == 0)
                rc = cc_err_set(e, CC_ERANGE, path, rec, "obj_size",
                                "0; expected an object size >= 1 (libCacheSim skips "
                                "size-0 requests; drop them before converting)");
            else if (!next_is_never(r.next) && r.next <= (int64_t)(i + 1))
                rc = cc_err_set(e, CC_ERANGE, path, rec, "next_access_vtime",
                                "%" PRId64 "; expected a later record (> %ld), -1 (never "
                                "again) or -2 (not recorded)", r.next, rec);
            else if (append_access(t, tenant, (int64_t)r.ts * NS_PER_S, r.id, r.size))
                rc = nomem(e, path, rec);
            next[i] = r.next;
            prev_ts = r.ts;
        }
    }
    /* Each forward reference inside the file must name the same object. */
    for (uint64_t k = 0; rc == CC_OK && k < n; k++) {
        if (next_is_never(next[k]) || (uint64_t)next[k] > n)
            continue; /* never, unknown, or past the end of a cut trace */
        uint64_t j = (uint64_t)next[k] - 1;
        if (t->blocks[j] != t->blocks[k])
            rc = cc_err_set(e, CC_EFORMAT, path, (long)(k + 1), "next_access_vtime",
                            "says obj_id %" PRIu64 " is requested next at record %" PRId64
                            ", but that record requests obj_id %" PRIu64
                            "; expected 1-based positions of the next request",
                            t->blocks[k], next[k], t->blocks[j]);
    }
    if (rc == CC_OK)
        t->timed = true;
    free(next);
    free(buf);
    fclose(f);
    if (rc != CC_OK)
        cc_trace_free(t);
    return rc;
}

/* ---- detection ---------------------------------------------------------------- */

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lf = strlen(suffix);
    return ls >= lf && strcasecmp(s + ls - lf, suffix) == 0;
}

int cc_detect_lcs_oracle(const char *path, const unsigned char *head, size_t head_len)
{
    int by_name = ends_with_ci(path, ".oracleGeneral") || ends_with_ci(path, ".oracleGeneral.bin") ||
                  ends_with_ci(path, ".oracleGeneralBin");
    int by_ext = ends_with_ci(path, ".bin");
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    uint64_t bytes = (uint64_t)st.st_size;
    if (bytes == 0 || bytes % ORACLE_RECORD || head_len < ORACLE_RECORD)
        return by_name ? 50 : 0; /* the reader will say precisely what is wrong */
    int plausible = 1, binary = 0;
    uint32_t prev_ts = 0;
    for (size_t k = 0; k + ORACLE_RECORD <= head_len; k += ORACLE_RECORD) {
        oracle_rec r = decode(head + k);
        uint64_t pos = k / ORACLE_RECORD + 1;
        if ((k && r.ts < prev_ts) || r.size == 0 ||
            (!next_is_never(r.next) && (r.next <= (int64_t)pos)))
            plausible = 0;
        prev_ts = r.ts;
    }
    for (size_t k = 0; k < head_len; k++)
        if ((head[k] < 0x20 && head[k] != '\n' && head[k] != '\r' && head[k] != '\t') ||
            head[k] >= 0x7f)
            binary = 1;
    if (!plausible)
        return by_name ? 50 : 0;
    if (by_name)
        return 95;
    if (!binary)
        return 0;
    return by_ext ? 40 : 10;
}

int cc_detect_lcs_csv(const char *path, const unsigned char *head, size_t head_len)
{
    /* look at the complete lines of the head only (all of it when it has
     * no line end: a one-line file) */
    size_t end = head_len;
    while (end && head[end - 1] != '\n')
        end--;
    if (end == 0)
        end = head_len;
    const char *text = (const char *)head;
    csv_layout L;
    size_t pos = 0;
    int rows = 0, have_layout = 0;
    while (pos < end && rows < 32) {
        size_t nl = pos;
        while (nl < end && text[nl] != '\n')
            nl++;
        size_t len = nl - pos;
        if (len && text[pos + len - 1] == '\r')
            len--;
        if (bad_byte(head + pos, len) >= 0)
            return 0;
        if (len) {
            if (!have_layout) {
                if (csv_layout_from(&L, text + pos, len, path, NULL) != CC_OK)
                    return 0;
                have_layout = 1;
                if (L.has_header) {
                    pos = nl + 1;
                    continue;
                }
            }
            csv_field f[CSV_MAX_FIELDS];
            if (split_fields(text + pos, len, L.delim, f) != L.n_fields)
                return 0;
            for (int r = 0; r < N_ROLES; r++)
                if (L.col[r] >= 0 && !is_numeric(&f[L.col[r]]))
                    return 0;
            rows++;
        }
        pos = nl + 1;
    }
    if (!have_layout)
        return 0;
    int score = 30;
    if (L.has_header)
        score = 50 + 10 * ((L.col[COL_TIME] >= 0) + (L.col[COL_SIZE] >= 0));
    if (ends_with_ci(path, ".csv"))
        score += 10;
    return score;
}
