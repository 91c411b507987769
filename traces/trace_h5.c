/*
 * trace_h5.c -- the native trace format: a cc_trace as one HDF5 file with one
 * dataset per column, readable by h5py/pandas without ctxcache.  The schema
 * (every dataset, type and meaning, and the version policy) is documented in
 * docs/trace-format.md; the constants below are its single source in code.
 *
 * Writing.  The writer validates the trace, creates OUT.tmp, writes the root
 * attributes and every column as a dataset, closes the file (which flushes
 * it) and only then renames OUT.tmp to OUT; any failure removes OUT.tmp, so
 * OUT is either the complete new file or untouched.  Non-empty numeric
 * datasets are chunked (CC_H5_CHUNK_BYTES per chunk, core/h5io.h) and compressed
 * with shuffle + deflate at CC_H5_DEFLATE_LEVEL, chosen for read speed (measured on the Mooncake
 * trace, 288,500 sequential block ids): 256 KiB chunks keep inflate's output
 * and the unshuffle buffer in L2 cache (1 MiB chunks read 10% slower, 512 KiB
 * 50% slower); levels 1-3 (zlib's greedy matcher) inflate about twice as fast
 * as levels 4-9 on shuffled integers, and level 3 is 6% smaller than 1.  A
 * column whose middle chunk the filters shrink by less than CC_H5_MIN_SAVING
 * (random 64-bit hashes, float embeddings) is stored contiguous and
 * unfiltered instead: inflating Huffman-coded noise reads 4x slower and saves
 * under a quarter.  /blocks/hash is always stored so, whatever it compresses
 * to: ids of libCacheSim or Mooncake traces compress 3.5 to 17:1, but a
 * streamed replay of a one-block-per-request trace spent as long inflating
 * them as in the cache (files written before still read: the layout is the
 * file's).  h5py and the reader below handle both layouts alike.
 * Empty datasets are written with zero length (contiguous, as HDF5 cannot
 * chunk an empty fixed-size dataset), so every documented dataset is always
 * present.  Object timestamps are off, so the same trace gives byte-identical
 * files.
 *
 * The file uses the HDF5 1.10 format (libver bounds v110): it checksums all
 * metadata, so damage is reported rather than misread, and its fixed-array
 * chunk index makes the Mooncake trace file 12% smaller than the 1.8 format
 * does (an empty trace: 11 KB instead of 16 KB).  Readers need HDF5 >= 1.10.
 * Strings are fixed-length (see cc_h5_string_type).  The writing discipline
 * (quiet errors, atomic rename, deterministic bytes) is core/h5io.c's.
 *
 * Reading.  The file is read into memory in one go and opened as an HDF5
 * file image (see cc_read_h5).  Every dataset is opened by path and its type
 * class, width, signedness, rank and length are checked against the schema
 * before it is read whole with one H5Dread straight into the array the trace
 * keeps (chunk fields are gathered into cc_chunk records through one scratch
 * buffer; the chunk cache is off, as every chunk is read exactly once, which
 * makes whole-column reads about 1.5x faster).
 * Then offsets, cross references and per-request invariants are checked, so
 * each failure names the HDF5 path in err->field (attributes as PATH@NAME)
 * and, for per-row problems, the 0-based row + 1 in err->line.  HDF5's own
 * error printing is switched off for the duration of each call (and
 * restored); when a library call fails, its innermost message is quoted.
 * The memory bound (traces.h): the file image and every column count
 * against it before they are allocated (r_reserve), so a file that declares
 * more than the bound fails with CC_ENOMEM and names the dataset.
 * A dataset whose declared size exceeds MAX_INFLATE_RATIO times its stored
 * bytes (+ 1 MiB) is refused before allocating: deflate cannot expand more
 * than about 1032:1, so such a header is corrupt (or the dataset was never
 * written), and refusing it keeps a damaged file from asking for terabytes.
 *
 * Cost.  Both directions are linear in the data.  The reader holds the file
 * image (the compressed size) while it decodes, plus one scratch array of 8
 * bytes per text chunk; the writer needs the scratch array and one chunk's
 * worth of compression probe per column.  Opening a file and its 25 datasets
 * costs about 0.4 ms; the Mooncake trace (12,031 requests, 288,500 blocks)
 * reads in about 4.5 ms on the 2-core development machine, 12x faster than
 * parsing its JSONL (docs/trace-format.md has the figures).
 */
#include "traces.h"

#include "../core/h5io.h"
#include "stream_int.h"

#include <hdf5.h>
#include <libdeflate.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define H5TRACE_FORMAT "ctxcache-trace"
#define SCHEMA_MAJOR 1
#define SCHEMA_MINOR 0
#define MAX_INFLATE_RATIO 1100u
#define MAX_BLOCK_SIZE (1u << 20)
#define MAX_EMBEDDING_DIM (1u << 16)

/* ---- errors ----------------------------------------------------------------- */

typedef cc_h5_quiet h5ctx;

/* ---- element types of the schema ----------------------------------------------- */

typedef enum { E_U8, E_U32, E_U64, E_I64, E_F32 } elem_kind;

static const struct {
    H5T_class_t cls;
    size_t size;
    H5T_sign_t sign;
    const char *name;
} elem_info[] = {
    [E_U8] = {H5T_INTEGER, 1, H5T_SGN_NONE, "uint8"},
    [E_U32] = {H5T_INTEGER, 4, H5T_SGN_NONE, "uint32"},
    [E_U64] = {H5T_INTEGER, 8, H5T_SGN_NONE, "uint64"},
    [E_I64] = {H5T_INTEGER, 8, H5T_SGN_2, "int64"},
    [E_F32] = {H5T_FLOAT, 4, H5T_SGN_ERROR, "float32"},
};

/* The H5T_NATIVE_* and H5T_STD_* names are run-time values, hence functions. */
static hid_t mem_type(elem_kind k)
{
    switch (k) {
    case E_U8: return H5T_NATIVE_UINT8;
    case E_U32: return H5T_NATIVE_UINT32;
    case E_U64: return H5T_NATIVE_UINT64;
    case E_I64: return H5T_NATIVE_INT64;
    default: return H5T_NATIVE_FLOAT;
    }
}

static hid_t file_type(elem_kind k)
{
    switch (k) {
    case E_U8: return H5T_STD_U8LE;
    case E_U32: return H5T_STD_U32LE;
    case E_U64: return H5T_STD_U64LE;
    case E_I64: return H5T_STD_I64LE;
    default: return H5T_IEEE_F32LE;
    }
}

static void describe_type(hid_t t, char *buf, size_t len)
{
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    switch (cls) {
    case H5T_INTEGER:
        snprintf(buf, len, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", size * 8);
        break;
    case H5T_FLOAT: snprintf(buf, len, "float%zu", size * 8); break;
    case H5T_STRING: snprintf(buf, len, "string"); break;
    case H5T_COMPOUND: snprintf(buf, len, "compound"); break;
    case H5T_ARRAY: snprintf(buf, len, "array"); break;
    case H5T_ENUM: snprintf(buf, len, "enum"); break;
    case H5T_VLEN: snprintf(buf, len, "vlen"); break;
    default: snprintf(buf, len, "HDF5 type class %d", (int)cls); break;
    }
}

/* ---- writer ------------------------------------------------------------------- */

typedef struct h5w {
    cc_h5w h;
    void *scratch;
} h5w;

static int w_attr_int(h5w *w, const char *name, elem_kind k, const void *val)
{
    return cc_h5w_attr(&w->h, "/", name, file_type(k), mem_type(k), val);
}

static int w_column(h5w *w, const char *path, elem_kind k, size_t n, const void *data)
{
    hsize_t dims[1] = {n};
    return cc_h5w_dataset(&w->h, path, file_type(k), mem_type(k), 1, dims, data, CC_H5_PROBE);
}

/* One field of the chunk records, gathered into the scratch buffer. */
static int w_chunk_field(h5w *w, const cc_trace *t, size_t nc, const char *path, elem_kind k)
{
    const char *leaf = strrchr(path, '/') + 1;
    for (size_t i = 0; i < nc; i++) {
        const cc_chunk *ch = &t->chunks[i];
        if (!strcmp(leaf, "text_offset"))
            ((uint64_t *)w->scratch)[i] = ch->text_off;
        else if (!strcmp(leaf, "text_len"))
            ((uint32_t *)w->scratch)[i] = ch->text_len;
        else if (!strcmp(leaf, "kind"))
            ((uint8_t *)w->scratch)[i] = (uint8_t)ch->kind;
        else if (!strcmp(leaf, "token_start"))
            ((uint32_t *)w->scratch)[i] = ch->token_start;
        else if (!strcmp(leaf, "token_len"))
            ((uint32_t *)w->scratch)[i] = ch->token_len;
        else
            ((uint64_t *)w->scratch)[i] = ch->chunk_hash;
    }
    return w_column(w, path, k, nc, w->scratch);
}

static int w_all(h5w *w, const cc_trace *t)
{
    static const uint64_t zero_off[1] = {0};
    const size_t n = t->n;
    const size_t nb = cc_trace_n_blocks_total(t), nt = cc_trace_n_tokens_total(t),
                 nc = cc_trace_n_chunks_total(t);
    uint32_t major = SCHEMA_MAJOR, minor = SCHEMA_MINOR, dim = t->embedding_dim;
    uint8_t timed = t->timed;
    int rc;
#define TRY(x)                                                                   \
    do {                                                                         \
        if ((rc = (x)) != CC_OK)                                                 \
            return rc;                                                           \
    } while (0)
    TRY(cc_h5w_attr_str(&w->h, "/", "format", H5TRACE_FORMAT));
    TRY(w_attr_int(w, "schema_version", E_U32, &major));
    TRY(w_attr_int(w, "schema_minor", E_U32, &minor));
    TRY(w_attr_int(w, "block_size", E_U32, &t->block_size));
    TRY(w_attr_int(w, "timed", E_U8, &timed));
    TRY(w_attr_int(w, "epoch_ns", E_I64, &t->epoch_ns));
    TRY(w_attr_int(w, "seed", E_U64, &t->seed));
    TRY(w_attr_int(w, "embedding_dim", E_U32, &dim));
    TRY(cc_h5w_attr_str(&w->h, "/", "source_format", t->source_format));
    TRY(cc_h5w_attr_str(&w->h, "/", "source", t->source));
    TRY(cc_h5w_attr_str(&w->h, "/", "ctxcache_version", CC_VERSION));

    TRY(cc_h5w_group(&w->h, "/requests"));
    TRY(w_column(w, "/requests/arrival_ns", E_I64, n, t->arrival_ns));
    TRY(w_column(w, "/requests/session_id", E_U64, n, t->session_id));
    TRY(w_column(w, "/requests/turn", E_U32, n, t->turn));
    TRY(w_column(w, "/requests/tenant", E_U32, n, t->tenant));
    TRY(w_column(w, "/requests/input_tokens", E_U32, n, t->input_tokens));
    TRY(w_column(w, "/requests/output_tokens", E_U32, n, t->output_tokens));
    TRY(w_column(w, "/requests/group_id", E_U64, n, t->group_id));
    TRY(w_column(w, "/requests/role", E_U8, n, t->role));

    TRY(cc_h5w_group(&w->h, "/index"));
    TRY(w_column(w, "/index/block_offset", E_U64, n + 1, n ? t->block_off : zero_off));
    TRY(w_column(w, "/index/token_offset", E_U64, n + 1, n ? t->token_off : zero_off));
    TRY(w_column(w, "/index/chunk_offset", E_U64, n + 1, n ? t->chunk_off : zero_off));

    TRY(cc_h5w_group(&w->h, "/blocks"));
    /* block hashes raw (contiguous, unfiltered) whatever they compress to:
     * a streamed replay reads them at memory speed (see the top) */
    hsize_t nbd[1] = {nb};
    TRY(cc_h5w_dataset(&w->h, "/blocks/hash", file_type(E_U64), mem_type(E_U64), 1, nbd,
                       t->blocks, CC_H5_PLAIN));
    TRY(cc_h5w_group(&w->h, "/tokens"));
    TRY(w_column(w, "/tokens/id", E_U32, nt, t->token_ids));

    TRY(cc_h5w_group(&w->h, "/chunks"));
    if (nc && !(w->scratch = malloc(nc * sizeof(uint64_t))))
        return cc_h5_fail(&w->h.q, false, CC_ENOMEM, 0, "/chunks", "out of memory for %zu chunks", nc);
    TRY(w_chunk_field(w, t, nc, "/chunks/text_offset", E_U64));
    TRY(w_chunk_field(w, t, nc, "/chunks/text_len", E_U32));
    TRY(w_chunk_field(w, t, nc, "/chunks/kind", E_U8));
    TRY(w_chunk_field(w, t, nc, "/chunks/token_start", E_U32));
    TRY(w_chunk_field(w, t, nc, "/chunks/token_len", E_U32));
    TRY(w_chunk_field(w, t, nc, "/chunks/chunk_hash", E_U64));

    TRY(w_column(w, "/text", E_U8, t->text_len, t->text));

    TRY(cc_h5w_group(&w->h, "/tenants"));
    TRY(cc_h5w_strings(&w->h, "/tenants/name", (const char *const *)t->tenants,
                        t->n_tenants));

    if (t->embedding_dim) {
        hsize_t edims[2] = {n, t->embedding_dim};
        TRY(cc_h5w_dataset(&w->h, "/embeddings", file_type(E_F32), mem_type(E_F32), 2, edims,
                           t->embeddings, CC_H5_PROBE));
    }
#undef TRY
    return CC_OK;
}

int cc_write_h5(const cc_trace *t, const char *path, cc_err *err)
{
    int rc = cc_trace_validate(t, path, err);
    if (rc != CC_OK)
        return rc;
    h5w w = {0};
    if ((rc = cc_h5w_open(&w.h, path, err)) != CC_OK)
        return rc;
    rc = cc_h5w_close(&w.h, w_all(&w, t));
    free(w.scratch);
    return rc;
}

/* ---- reader ------------------------------------------------------------------- */

typedef struct h5r {
    h5ctx c;
    hid_t file;
    hid_t dapl; /* no chunk cache: every chunk is read once, straight through */
    uint64_t used, bound; /* the memory bound (traces.h): the file image and
                             the columns read so far, against the bound */
} h5r;

/* Takes bytes more for the dataset at path, or fails with the bound's
 * error before they are allocated (a compressed file may declare columns
 * far larger than itself). */
static int r_reserve(h5r *r, const char *path, uint64_t bytes)
{
    char nb[32], ub[32], bb[32];
    if (bytes > r->bound || r->used > r->bound - bytes)
        return cc_h5_fail(&r->c, false, CC_ENOMEM, 0, path,
                          "would take %s beside the %s taken by the file image and the "
                          "columns before it, past the bound of %s (half the physical "
                          "memory, or CTXCACHE_MAX_MEMORY)",
                          cc_bytes_human(bytes, nb, sizeof nb), cc_bytes_human(r->used, ub, sizeof ub),
                          cc_bytes_human(r->bound, bb, sizeof bb));
    r->used += bytes;
    return CC_OK;
}

/* Whether every link along path exists (H5Lexists fails, rather than saying
 * no, when an intermediate group is missing). */
static int r_exists(h5r *r, const char *path, bool *exists)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        htri_t e = H5Lexists(r->file, buf, H5P_DEFAULT);
        *p = saved;
        if (e < 0)
            return cc_h5_fail(&r->c, true, CC_EFORMAT, 0, path, "cannot look up the link");
        if (e == 0) {
            *exists = false;
            return CC_OK;
        }
        if (saved == '\0')
            break;
    }
    *exists = true;
    return CC_OK;
}

/* Opens the dataset at path and checks its type and shape: rank 1 or 2,
 * dims[0] == want0 unless want0 is ANY_LEN, dims[1] == want1 for rank 2.
 * `what` says where the expected length comes from.  For strings (kind < 0)
 * only the class is checked.  Returns the dataset id in *ds and dims. */
#define ANY_LEN UINT64_MAX
static int r_open(h5r *r, const char *path, int kind, int rank, uint64_t want0, uint64_t want1,
                  const char *what, hid_t *ds_out, uint64_t *len_out)
{
    const char *tname = kind < 0 ? "string" : elem_info[kind].name;
    bool exists;
    int rc = r_exists(r, path, &exists);
    if (rc)
        return rc;
    if (!exists)
        return cc_h5_fail(&r->c, false, CC_EFORMAT, 0, path,
                    "missing; expected a dataset of %s (schema version %d)", tname, SCHEMA_MAJOR);
    hid_t ds = H5Dopen2(r->file, path, r->dapl);
    if (ds < 0)
        return cc_h5_fail(&r->c, true, CC_EFORMAT, 0, path, "cannot open; expected a dataset of %s",
                    tname);
    hid_t type = H5Dget_type(ds), space = H5Dget_space(ds);
    char found[64];
    hsize_t dims[2] = {0, 0};
    if (type < 0 || space < 0) {
        rc = cc_h5_fail(&r->c, true, CC_EFORMAT, 0, path, "cannot read the dataset's header");
        goto out;
    }
    describe_type(type, found, sizeof found);
    if (kind < 0 ? H5Tget_class(type) != H5T_STRING
                 : (H5Tget_class(type) != elem_info[kind].cls ||
                    H5Tget_size(type) != elem_info[kind].size ||
                    (elem_info[kind].cls == H5T_INTEGER &&
                     H5Tget_sign(type) != elem_info[kind].sign))) {
        rc = cc_h5_fail(&r->c, false, CC_EFORMAT, 0, path, "has type %s; expected %s", found, tname);
        goto out;
    }
    int nd = H5Sget_simple_extent_type(space) == H5S_SIMPLE ? H5Sget_simple_extent_ndims(space) : 0;
    if (nd != rank) {
        rc = cc_h5_fail(&r->c, false, CC_EFORMAT, 0, path, "has %d dimensions; expected %d", nd, rank);
        goto out;
    }
    H5Sget_simple_extent_dims(space, dims, NULL);
    if (want0 != ANY_LEN && dims[0] != want0) {
        rc = cc_h5_fail(&r->c, false, CC_EFORMAT, 0, path, "has %llu rows; expected %llu (%s)",
                  (unsigned long long)dims[0], (unsigned long long)want0, what);
        goto out;
    }
    if (rank == 2 && dims[1] != want1) {
        rc = cc_h5_fail(&r->c, false, CC_EFORMAT, 0, path, "has %llu columns; expected %llu (%s)",
                  (unsigned long long)dims[1], (unsigned long long)want1, what);
        goto out;
    }
    size_t elem = H5Tget_size(type);
    uint64_t count = dims[0] * (rank == 2 ? dims[1] : 1);
    if ((rank == 2 && dims[1] && count / dims[1] != dims[0]) || count > SIZE_MAX / 16 / elem) {
        rc = cc_h5_fail(&r->c, false, CC_ERANGE, 0, path, "declares %llu x %llu elements; too large",
                  (unsigned long long)dims[0], (unsigned long long)dims[1]);
        goto out;
    }
    uint64_t stored = H5Dget_storage_size(ds);
    if (count * elem > stored * MAX_INFLATE_RATIO + (1u << 20)) {
        rc = cc_h5_fail(&r->c, false, CC_EFORMAT, 0, path,
                  "declares %llu bytes but stores only %llu; expected at most %u times the "
                  "stored size (corrupt header, or a dataset that was never written)",
                  (unsigned long long)(count * elem), (unsigned long long)stored,
                  MAX_INFLATE_RATIO);
        goto out;
    }
    *len_out = dims[0];
out:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (rc == CC_OK)
        *ds_out = ds;
    else
        H5Dclose(ds);
    return rc;
}

/* Reads a whole numeric dataset (count elements of kind) into *out, malloc'd
 * here (NULL when count is 0). */
static int r_read(h5r *r, hid_t ds, const char *path, elem_kind kind, uint64_t count, void **out)
{
    *out = NULL;
    if (count == 0)
        return CC_OK;
    int rc = r_reserve(r, path, count * elem_info[kind].size);
    if (rc)
        return rc;
    void *buf = malloc(count * elem_info[kind].size);
    if (!buf)
        return cc_h5_fail(&r->c, false, CC_ENOMEM, 0, path, "out of memory for %llu elements",
                    (unsigned long long)count);
    if (H5Dread(ds, mem_type(kind), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        return cc_h5_fail(&r->c, true, CC_EFORMAT, 0, path,
                    "cannot read the data (truncated or corrupt file)");
    }
    *out = buf;
    return CC_OK;
}

/* Opens, checks and reads a 1-D column of want elements (ANY_LEN: any). */
static int r_column(h5r *r, const char *path, elem_kind kind, uint64_t want, const char *what,
                    void **out, uint64_t *len)
{
    hid_t ds;
    uint64_t n;
    int rc = r_open(r, path, kind, 1, want, 0, what, &ds, &n);
    if (rc)
        return rc;
    rc = r_read(r, ds, path, kind, n, out);
    H5Dclose(ds);
    if (len)
        *len = n;
    return rc;
}

/* An integer attribute of the root group, any integer type, as value in
 * [min, max].  Absent: error when required, else *present = false. */
static int r_attr_int(h5r *r, const char *name, bool required, int64_t min, uint64_t max,
                      int64_t *s_out, uint64_t *u_out, bool *present)
{
    char where[80];
    snprintf(where, sizeof where, "/@%s", name);
    htri_t ex = H5Aexists(r->file, name);
    if (ex < 0)
        return cc_h5_fail(&r->c, true, CC_EFORMAT, 0, where, "cannot look up the attribute");
    if (present)
        *present = ex > 0;
    if (ex == 0)
        return required ? cc_h5_fail(&r->c, false, CC_EFORMAT, 0, where,
                               "missing root attribute '%s'; expected an integer", name)
                        : CC_OK;
    int rc = CC_OK;
    hid_t a = H5Aopen(r->file, name, H5P_DEFAULT);
    hid_t type = a < 0 ? -1 : H5Aget_type(a), space = a < 0 ? -1 : H5Aget_space(a);
    char found[64];
    if (type < 0 || space < 0) {
        rc = cc_h5_fail(&r->c, true, CC_EFORMAT, 0, where, "cannot open the attribute");
        goto out;
    }
    describe_type(type, found, sizeof found);
    if (H5Tget_class(type) != H5T_INTEGER || H5Sget_simple_extent_npoints(space) != 1) {
        rc = cc_h5_fail(&r->c, false, CC_EFORMAT, 0, where,
                  "has type %s (%lld values); expected one integer", found,
                  (long long)H5Sget_simple_extent_npoints(space));
        goto out;
    }
    bool big_unsigned = H5Tget_sign(type) == H5T_SGN_NONE && H5Tget_size(type) >= 8;
    uint64_t u = 0;
    int64_t s = 0;
    if (H5Aread(a, big_unsigned ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64,
                big_unsigned ? (void *)&u : (void *)&s) < 0) {
        rc = cc_h5_fail(&r->c, true, CC_EFORMAT, 0, where, "cannot read the attribute");
        goto out;
    }
    bool neg = !big_unsigned && s < 0;
    if (!big_unsigned && s >= 0)
        u = (uint64_t)s;
    if ((neg && s < min) || (!neg && u > max)) {
        if (neg)
            rc = cc_h5_fail(&r->c, false, CC_ERANGE, 0, where, "is %lld; expected %lld..%llu",
                      (long long)s, (long long)min, (unsigned long long)max);
        else
            rc = cc_h5_fail(&r->c, false, CC_ERANGE, 0, where, "is %llu; expected %lld..%llu",
                      (unsigned long long)u, (long long)min, (unsigned long long)max);
        goto out;
    }
    if (s_out)
        *s_out = neg ? s : (int64_t)u;
    if (u_out)
        *u_out = u;
out:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* A string attribute of the root group (fixed or variable length), copied
 * into buf (truncated to fit).  Absent and not required: buf = "". */
static int r_attr_str(h5r *r, const char *name, bool required, char *buf, size_t cap)
{
    char where[80];
    snprintf(where, sizeof where, "/@%s", name);
    buf[0] = '\0';
    htri_t ex = H5Aexists(r->file, name);
    if (ex < 0)
        return cc_h5_fail(&r->c, true, CC_EFORMAT, 0, where, "cannot look up the attribute");
    if (ex == 0)
        return required ? cc_h5_fail(&r->c, false, CC_EFORMAT, 0, where,
                               "missing root attribute '%s'; expected a string", name)
                        : CC_OK;
    int rc = CC_OK;
    hid_t a = H5Aopen(r->file, name, H5P_DEFAULT);
    hid_t type = a < 0 ? -1 : H5Aget_type(a), space = a < 0 ? -1 : H5Aget_space(a);
    hid_t mt = -1;
    char *tmp = NULL;
    char found[64];
    if (type < 0 || space < 0) {
        rc = cc_h5_fail(&r->c, true, CC_EFORMAT, 0, where, "cannot open the attribute");
        goto out;
    }
    describe_type(type, found, sizeof found);
    if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1) {
        rc = cc_h5_fail(&r->c, false, CC_EFORMAT, 0, where, "has type %s; expected one string", found);
        goto out;
    }
    mt = H5Tget_native_type(type, H5T_DIR_ASCEND);
    if (mt < 0) {
        rc = cc_h5_fail(&r->c, true, CC_EFORMAT, 0, where, "cannot read the attribute");
        goto out;
    }
    if (H5Tis_variable_str(type) > 0) {
        char *s = NULL;
        if (H5Aread(a, mt, &s) < 0) {
            rc = cc_h5_fail(&r->c, true, CC_EFORMAT, 0, where, "cannot read the attribute");
            goto out;
        }
        snprintf(buf, cap, "%s", s ? s : "");
        H5free_memory(s);
    } else {
        size_t size = H5Tget_size(type);
        if (!(tmp = calloc(size + 1, 1))) {
            rc = cc_h5_fail(&r->c, false, CC_ENOMEM, 0, where, "out of memory");
            goto out;
        }
        if (H5Aread(a, mt, tmp) < 0) {
            rc = cc_h5_fail(&r->c, true, CC_EFORMAT, 0, where, "cannot read the attribute");
            goto out;
        }
        size_t len = strnlen(tmp, size);
        while (len && tmp[len - 1] == ' ' && H5Tget_strpad(type) == H5T_STR_SPACEPAD)
            len--;
        snprintf(buf, cap, "%.*s", (int)(len < cap ? len : cap - 1), tmp);
    }
out:
    free(tmp);
    if (mt >= 0)
        H5Tclose(mt);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* Offset of the first invalid UTF-8 sequence in s[0..len), or len. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned min;
        if ((c & 0xE0) == 0xC0) {
            need = 1;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3;
            min = 0x10000;
        } else {
            return i;
        }
        if (len - i <= need)
            return i;
        unsigned cp = c & (0x3F >> need);
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += need + 1;
    }
    return len;
}

/* /tenants/name: variable- or fixed-length strings -> t->tenants. */
static int r_tenants(h5r *r, cc_trace *t)
{
    const char *path = "/tenants/name";
    hid_t ds;
    uint64_t n;
    int rc = r_open(r, path, -1, 1, ANY_LEN, 0, NULL, &ds, &n);
    if (rc)
        return rc;
    hid_t type = H5Dget_type(ds), mt = -1, space = -1;
    void *buf = NULL;
    bool vl = false, read_ok = false;
    cc_u64map seen = {0};
    if (type < 0 || (mt = H5Tget_native_type(type, H5T_DIR_ASCEND)) < 0 ||
        (space = H5Dget_space(ds)) < 0) {
        rc = cc_h5_fail(&r->c, true, CC_EFORMAT, 0, path, "cannot read the string type");
        goto out;
    }
    if (n > UINT32_MAX) {
        rc = cc_h5_fail(&r->c, false, CC_ERANGE, 0, path, "%llu tenants; expected at most %u",
                  (unsigned long long)n, UINT32_MAX);
        goto out;
    }
    vl = H5Tis_variable_str(type) > 0;
    size_t size = vl ? sizeof(char *) : H5Tget_size(type);
    if (n && !(buf = calloc(n, size))) {
        rc = cc_h5_fail(&r->c, false, CC_ENOMEM, 0, path, "out of memory");
        goto out;
    }
    if (n && !(t->tenants = calloc(n, sizeof(char *)))) {
        rc = cc_h5_fail(&r->c, false, CC_ENOMEM, 0, path, "out of memory");
        goto out;
    }
    t->cap_tenants = n;
    if (n && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        rc = cc_h5_fail(&r->c, true, CC_EFORMAT, 0, path,
                  "cannot read the data (truncated or corrupt file)");
        goto out;
    }
    read_ok = true;
    if (cc_u64map_init(&seen, n)) {
        rc = cc_h5_fail(&r->c, false, CC_ENOMEM, 0, path, "out of memory");
        goto out;
    }
    for (uint64_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        if (vl) {
            s = ((char **)buf)[i];
            if (!s) {
                rc = cc_h5_fail(&r->c, false, CC_EFORMAT, (long)i + 1, path,
                          "tenant %llu has no name (null string)", (unsigned long long)i);
                goto out;
            }
            len = strlen(s);
        } else {
            s = (const char *)buf + i * size;
            len = strnlen(s, size);
            while (len && s[len - 1] == ' ' && H5Tget_strpad(type) == H5T_STR_SPACEPAD)
                len--;
        }
        if (utf8_invalid_at((const unsigned char *)s, len) != len) {
            rc = cc_h5_fail(&r->c, false, CC_EFORMAT, (long)i + 1, path,
                      "tenant %llu's name is not valid UTF-8", (unsigned long long)i);
            goto out;
        }
        if (!(t->tenants[i] = strndup(s, len))) {
            rc = cc_h5_fail(&r->c, false, CC_ENOMEM, 0, path, "out of memory");
            goto out;
        }
        t->n_tenants = i + 1;
        uint64_t *slot;
        int put = cc_u64map_put(&seen, cc_hash_bytes(s, len, 0), i, &slot);
        if (put < 0) {
            rc = cc_h5_fail(&r->c, false, CC_ENOMEM, 0, path, "out of memory");
            goto out;
        }
        if (put == 0 && strcmp(t->tenants[*slot], t->tenants[i]) == 0) {
            rc = cc_h5_fail(&r->c, false, CC_EFORMAT, (long)i + 1, path,
                      "tenant %llu repeats the name '%s' of tenant %llu; expected distinct names",
                      (unsigned long long)i, t->tenants[i], (unsigned long long)*slot);
            goto out;
        }
    }
out:
    cc_u64map_free(&seen);
    if (vl && read_ok && buf)
#if H5_VERSION_GE(1, 12, 0)
        H5Treclaim(mt, space, H5P_DEFAULT, buf);
#else
        H5Dvlen_reclaim(mt, space, H5P_DEFAULT, buf);
#endif
    free(buf);
    if (space >= 0)
        H5Sclose(space);
    if (mt >= 0)
        H5Tclose(mt);
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(ds);
    return rc;
}

/* An offsets column of n+1 entries: starts at 0, never decreases.  Returns
 * the total (the last entry) in *total. */
static int r_offsets(h5r *r, const char *path, size_t n, uint64_t **off, uint64_t *total)
{
    int rc = r_column(r, path, E_U64, (uint64_t)n + 1, "requests + 1: the length of "
                      "/requests/arrival_ns plus one", (void **)off, NULL);
    if (rc)
        return rc;
    const uint64_t *o = *off;
    if (o[0] != 0)
        return cc_h5_fail(&r->c, false, CC_EFORMAT, 1, path, "starts at %llu; expected 0",
                    (unsigned long long)o[0]);
    for (size_t i = 1; i <= n; i++)
        if (o[i] < o[i - 1])
            return cc_h5_fail(&r->c, false, CC_EFORMAT, (long)i + 1, path,
                        "element %zu (%llu) is less than element %zu (%llu); expected "
                        "non-decreasing offsets",
                        i, (unsigned long long)o[i], i - 1, (unsigned long long)o[i - 1]);
    *total = o[n];
    return CC_OK;
}

/* The chunk records: six columns of nc rows each, gathered into t->chunks. */
static int r_chunks(h5r *r, cc_trace *t, uint64_t nc)
{
    static const struct {
        const char *path;
        elem_kind kind;
    } cols[] = {
        {"/chunks/text_offset", E_U64}, {"/chunks/text_len", E_U32},
        {"/chunks/kind", E_U8},         {"/chunks/token_start", E_U32},
        {"/chunks/token_len", E_U32},   {"/chunks/chunk_hash", E_U64},
    };
    int rc = r_reserve(r, "/chunks", nc * sizeof *t->chunks);
    if (rc)
        return rc;
    if (nc && !(t->chunks = malloc(nc * sizeof *t->chunks)))
        return cc_h5_fail(&r->c, false, CC_ENOMEM, 0, "/chunks", "out of memory for %llu chunks",
                    (unsigned long long)nc);
    t->cap_chunks = nc;
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
        void *col;
        rc = r_column(r, cols[c].path, cols[c].kind, nc,
                      "chunks: the last entry of /index/chunk_offset", &col, NULL);
        if (rc)
            return rc;
        for (uint64_t i = 0; i < nc; i++) {
            cc_chunk *ch = &t->chunks[i];
            switch (c) {
            case 0: ch->text_off = ((uint64_t *)col)[i]; break;
            case 1: ch->text_len = ((uint32_t *)col)[i]; break;
            case 2: ch->kind = ((uint8_t *)col)[i]; break;
            case 3: ch->token_start = ((uint32_t *)col)[i]; break;
            case 4: ch->token_len = ((uint32_t *)col)[i]; break;
            default: ch->chunk_hash = ((uint64_t *)col)[i]; break;
            }
        }
        free(col);
        r->used -= nc * elem_info[cols[c].kind].size; /* only while gathered */
    }
    return CC_OK;
}

/* Per-request invariants, named by HDF5 path and row (request i -> line i+1). */
static int r_check_requests(h5r *r, const cc_trace *t)
{
    for (size_t i = 0; i < t->n; i++) {
        long rec = (long)i + 1;
        if (t->arrival_ns[i] < 0)
            return cc_h5_fail(&r->c, false, CC_ERANGE, rec, "/requests/arrival_ns",
                        "request %zu arrives at %lld ns; expected >= 0", i,
                        (long long)t->arrival_ns[i]);
        if (i && t->arrival_ns[i] < t->arrival_ns[i - 1])
            return cc_h5_fail(&r->c, false, CC_ERANGE, rec, "/requests/arrival_ns",
                        "request %zu arrives at %lld ns, before request %zu at %lld ns; "
                        "expected non-decreasing arrivals",
                        i, (long long)t->arrival_ns[i], i - 1, (long long)t->arrival_ns[i - 1]);
        if (t->tenant[i] >= t->n_tenants)
            return cc_h5_fail(&r->c, false, CC_ERANGE, rec, "/requests/tenant",
                        "request %zu has tenant %u; expected an index below %zu (the length "
                        "of /tenants/name)", i, t->tenant[i], t->n_tenants);
        if (t->role[i] > CC_ROLE_SEED)
            return cc_h5_fail(&r->c, false, CC_ERANGE, rec, "/requests/role",
                        "request %zu has role %u; expected 0 (query) or 1 (seed)", i, t->role[i]);
        uint64_t nb = t->block_off[i + 1] - t->block_off[i];
        if (t->block_size && nb &&
            nb != ((uint64_t)t->input_tokens[i] + t->block_size - 1) / t->block_size)
            return cc_h5_fail(&r->c, false, CC_EFORMAT, rec, "/index/block_offset",
                        "request %zu has %llu blocks for %u input tokens; expected "
                        "ceil(input_tokens / block_size %u) or none", i,
                        (unsigned long long)nb, t->input_tokens[i], t->block_size);
        uint64_t ntok = t->token_off[i + 1] - t->token_off[i];
        if (ntok && ntok != t->input_tokens[i])
            return cc_h5_fail(&r->c, false, CC_EFORMAT, rec, "/index/token_offset",
                        "request %zu has %llu token ids for %u input tokens; expected equal "
                        "or none", i, (unsigned long long)ntok, t->input_tokens[i]);
        for (uint64_t c = t->chunk_off[i]; c < t->chunk_off[i + 1]; c++) {
            const cc_chunk *ch = &t->chunks[c];
            long crec = (long)c + 1;
            if (ch->text_off > t->text_len || ch->text_len > t->text_len - ch->text_off)
                return cc_h5_fail(&r->c, false, CC_EFORMAT, crec, "/chunks/text_offset",
                            "chunk %llu (of request %zu) spans bytes %llu..+%u; expected "
                            "within /text (%zu bytes)", (unsigned long long)c, i,
                            (unsigned long long)ch->text_off, ch->text_len, t->text_len);
            if (ch->kind >= CC_CHUNK_KIND_COUNT)
                return cc_h5_fail(&r->c, false, CC_ERANGE, crec, "/chunks/kind",
                            "chunk %llu has kind %u; expected 0..%d", (unsigned long long)c,
                            ch->kind, CC_CHUNK_KIND_COUNT - 1);
            if (ntok && (uint64_t)ch->token_start + ch->token_len > ntok)
                return cc_h5_fail(&r->c, false, CC_EFORMAT, crec, "/chunks/token_start",
                            "chunk %llu covers tokens %u..+%u of request %zu, which has %llu; "
                            "expected within the request", (unsigned long long)c,
                            ch->token_start, ch->token_len, i, (unsigned long long)ntok);
        }
    }
    return CC_OK;
}

/* The general invariants (cc_trace_validate) as a last net, with its field
 * names mapped to the HDF5 paths that hold them. */
static int r_validate(h5r *r, const cc_trace *t)
{
    static const char *const map[][2] = {
        {"arrival_ns", "/requests/arrival_ns"}, {"tenant", "/requests/tenant"},
        {"role", "/requests/role"},             {"offsets", "/index"},
        {"blocks", "/index/block_offset"},      {"token_ids", "/index/token_offset"},
        {"chunks", "/chunks"},
    };
    int rc = cc_trace_validate(t, r->c.path, r->c.err);
    if (rc != CC_OK && r->c.err)
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (!strcmp(r->c.err->field, map[i][0])) {
                snprintf(r->c.err->field, sizeof r->c.err->field, "%s", map[i][1]);
                break;
            }
    return rc;
}

static int r_all(h5r *r, cc_trace *t)
{
    int rc;
    char fmt[64];
    int64_t s;
    uint64_t u;
    bool present;
#define TRY(x)                                                                   \
    do {                                                                         \
        if ((rc = (x)) != CC_OK)                                                 \
            return rc;                                                           \
    } while (0)
    /* identity and version first, so a foreign or newer file says so */
    TRY(r_attr_str(r, "format", true, fmt, sizeof fmt));
    if (strcmp(fmt, H5TRACE_FORMAT) != 0)
        return cc_h5_fail(&r->c, false, CC_EFORMAT, 0, "/@format",
                    "is '%s'; expected '%s' (this HDF5 file is not a ctxcache trace)", fmt,
                    H5TRACE_FORMAT);
    TRY(r_attr_int(r, "schema_version", true, 0, UINT64_MAX, NULL, &u, NULL));
    if (u > SCHEMA_MAJOR)
        return cc_h5_fail(&r->c, false, CC_EUNSUP, 0, "/@schema_version",
                    "is %llu, newer than this ctxcache (%s) reads (schema version %d); "
                    "upgrade ctxcache to read this file",
                    (unsigned long long)u, CC_VERSION, SCHEMA_MAJOR);
    if (u < 1)
        return cc_h5_fail(&r->c, false, CC_EFORMAT, 0, "/@schema_version",
                    "is %llu; expected %d", (unsigned long long)u, SCHEMA_MAJOR);
    TRY(r_attr_int(r, "block_size", true, 0, MAX_BLOCK_SIZE, NULL, &u, NULL));
    t->block_size = (uint32_t)u;
    TRY(r_attr_int(r, "timed", true, 0, 1, NULL, &u, NULL));
    t->timed = u != 0;
    TRY(r_attr_int(r, "embedding_dim", true, 0, MAX_EMBEDDING_DIM, NULL, &u, NULL));
    t->embedding_dim = (uint32_t)u;
    TRY(r_attr_int(r, "epoch_ns", false, INT64_MIN, INT64_MAX, &s, NULL, &present));
    t->epoch_ns = present ? s : 0;
    TRY(r_attr_int(r, "seed", false, 0, UINT64_MAX, NULL, &u, &present));
    t->seed = present ? u : 0;
    TRY(r_attr_str(r, "source_format", false, t->source_format, sizeof t->source_format));
    TRY(r_attr_str(r, "source", false, t->source, sizeof t->source));

    /* per-request columns: /requests/arrival_ns sets n */
    uint64_t n;
    TRY(r_column(r, "/requests/arrival_ns", E_I64, ANY_LEN, NULL, (void **)&t->arrival_ns, &n));
    t->n = t->cap_n = n;
    const char *one = "one per request: the length of /requests/arrival_ns";
    TRY(r_column(r, "/requests/session_id", E_U64, n, one, (void **)&t->session_id, NULL));
    TRY(r_column(r, "/requests/turn", E_U32, n, one, (void **)&t->turn, NULL));
    TRY(r_column(r, "/requests/tenant", E_U32, n, one, (void **)&t->tenant, NULL));
    TRY(r_column(r, "/requests/input_tokens", E_U32, n, one, (void **)&t->input_tokens, NULL));
    TRY(r_column(r, "/requests/output_tokens", E_U32, n, one, (void **)&t->output_tokens, NULL));
    TRY(r_column(r, "/requests/group_id", E_U64, n, one, (void **)&t->group_id, NULL));
    TRY(r_column(r, "/requests/role", E_U8, n, one, (void **)&t->role, NULL));

    /* ragged columns: offsets, then data of exactly the last offset's length */
    uint64_t nb, nt, nc, ntext;
    TRY(r_offsets(r, "/index/block_offset", n, &t->block_off, &nb));
    TRY(r_offsets(r, "/index/token_offset", n, &t->token_off, &nt));
    TRY(r_offsets(r, "/index/chunk_offset", n, &t->chunk_off, &nc));
    TRY(r_column(r, "/blocks/hash", E_U64, nb, "block hashes: the last entry of "
                 "/index/block_offset", (void **)&t->blocks, NULL));
    t->cap_blocks = nb;
    TRY(r_column(r, "/tokens/id", E_U32, nt, "token ids: the last entry of /index/token_offset",
                 (void **)&t->token_ids, NULL));
    t->cap_tokens = nt;
    TRY(r_chunks(r, t, nc));

    hid_t ds;
    TRY(r_open(r, "/text", E_U8, 1, ANY_LEN, 0, NULL, &ds, &ntext));
    /* one spare byte: the builder keeps the arena NUL-terminated */
    rc = r_reserve(r, "/text", ntext + 1);
    if (rc == CC_OK && !(t->text = malloc(ntext + 1)))
        rc = cc_h5_fail(&r->c, false, CC_ENOMEM, 0, "/text", "out of memory for %llu bytes",
                  (unsigned long long)ntext);
    else if (rc == CC_OK && ntext && H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->text) < 0)
        rc = cc_h5_fail(&r->c, true, CC_EFORMAT, 0, "/text",
                  "cannot read the data (truncated or corrupt file)");
    H5Dclose(ds);
    if (rc)
        return rc;
    t->text[ntext] = '\0';
    t->text_len = t->cap_text = ntext;
    t->cap_text = ntext + 1;
    size_t bad = utf8_invalid_at((const unsigned char *)t->text, ntext);
    if (bad != ntext)
        return cc_h5_fail(&r->c, false, CC_EFORMAT, (long)bad + 1, "/text",
                    "byte %zu starts an invalid UTF-8 sequence; expected UTF-8 text", bad);

    TRY(r_tenants(r, t));

    bool has_emb;
    TRY(r_exists(r, "/embeddings", &has_emb));
    if (t->embedding_dim) {
        TRY(r_open(r, "/embeddings", E_F32, 2, n, t->embedding_dim,
                   "requests x embedding_dim (root attribute)", &ds, &u));
        rc = r_read(r, ds, "/embeddings", E_F32, n * t->embedding_dim, (void **)&t->embeddings);
        H5Dclose(ds);
        if (rc)
            return rc;
    } else if (has_emb) {
        return cc_h5_fail(&r->c, false, CC_EFORMAT, 0, "/embeddings",
                    "present, but the root attribute embedding_dim is 0; expected no "
                    "/embeddings when embedding_dim is 0");
    }

    TRY(r_check_requests(r, t));
    TRY(r_validate(r, t));
#undef TRY
    return CC_OK;
}

/* The whole file in memory (*buf malloc'd).  Works for any readable path:
 * regular files, pipes, /proc/self/fd/N (HDF5's own file driver resolves the
 * real path first and so cannot open the latter). */
static int read_whole(const char *path, unsigned char **buf, size_t *len, cc_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(err, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(errno));
    struct stat st;
    size_t cap = 0, n = 0;
    unsigned char *b = NULL;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        cc_grow((void **)&b, &cap, (size_t)st.st_size + 1, 1) != CC_OK) {
        fclose(f);
        return cc_err_set(err, CC_ENOMEM, path, 0, NULL, "out of memory for %lld bytes",
                          (long long)st.st_size);
    }
    for (;;) {
        if (cap - n < 4096 && cc_grow((void **)&b, &cap, n + 65536, 1) != CC_OK) {
            free(b);
            fclose(f);
            return cc_err_set(err, CC_ENOMEM, path, 0, NULL, "out of memory");
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return cc_err_set(err, CC_EIO, path, 0, NULL, "read failed: %s", strerror(errno));
    }
    *buf = b;
    *len = n;
    return CC_OK;
}

/* The file image the reader decodes from.  HDF5's core driver reads it in
 * place: every "copy" the library asks for (property lists, the open file)
 * is this one buffer, counted in refs, so nothing is copied. */
typedef struct h5image {
    unsigned char *buf;
    size_t len;
    int refs; /* property lists and open files holding buf */
} h5image;

static void *img_malloc(size_t size, H5FD_file_image_op_t op, void *udata)
{
    h5image *im = udata;
    (void)op;
    if (size != im->len)
        return NULL;
    im->refs++;
    return im->buf;
}

static void *img_memcpy(void *dest, const void *src, size_t size, H5FD_file_image_op_t op,
                        void *udata)
{
    (void)op;
    (void)udata;
    if (dest != src) /* every buffer img_malloc hands out is the same one */
        memcpy(dest, src, size);
    return dest;
}

static void *img_realloc(void *ptr, size_t size, H5FD_file_image_op_t op, void *udata)
{
    (void)ptr;
    (void)size;
    (void)op;
    (void)udata;
    return NULL; /* opened read-only: the image never grows */
}

static herr_t img_free(void *ptr, H5FD_file_image_op_t op, void *udata)
{
    h5image *im = udata;
    (void)op;
    if (ptr != im->buf || im->refs == 0)
        return -1;
    im->refs--;
    return 0;
}

static void *img_udata_copy(void *udata)
{
    return udata;
}

static herr_t img_udata_free(void *udata)
{
    (void)udata;
    return 0;
}

/* The file is read into memory in one go and opened as an HDF5 file image
 * (core driver, read in place through the callbacks above).  This opens any
 * readable path (HDF5's own file driver resolves the real path first and so
 * cannot open /proc/self/fd/N, pipes or deleted files), and each image gets a
 * name of its own, so no state of an earlier failed read of the same path can
 * reach the next one.  If libhdf5 cannot close a damaged file (1.10 cannot
 * after an object header fails its checksum) it keeps the image: then the
 * image is left to it rather than freed under it. */
int cc_read_h5(const char *path, const cc_read_opts *opts, cc_trace *t, cc_err *err)
{
    /* the file carries its own block size, tenants and tokens: only the
     * memory bound is taken from opts */
    const uint64_t bound = cc_trace_memory_bound(opts);
    cc_trace_init(t);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > bound)
        return cc_trace_bound_error(path, 0, NULL, "the file image", (uint64_t)st.st_size,
                                    bound, err);
    h5image *im = calloc(1, sizeof *im);
    if (!im)
        return cc_err_set(err, CC_ENOMEM, path, 0, NULL, "out of memory");
    int rc = read_whole(path, &im->buf, &im->len, err);
    if (rc) {
        free(im);
        return rc;
    }

    h5r r = {.file = -1, .dapl = -1, .used = im->len, .bound = bound};
    cc_h5_quiet_begin(&r.c, path, err);
    H5FD_file_image_callbacks_t callbacks = {img_malloc,     img_memcpy,     img_realloc, img_free,
                                             img_udata_copy, img_udata_free, im};
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    r.dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (fapl < 0 || r.dapl < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
        H5Pset_chunk_cache(r.dapl, 0, 0, H5D_CHUNK_CACHE_W0_DEFAULT) < 0 ||
        (im->len > 0 && (H5Pset_file_image_callbacks(fapl, &callbacks) < 0 ||
                         H5Pset_file_image(fapl, im->buf, im->len) < 0))) {
        rc = cc_h5_fail(&r.c, true, CC_ENOMEM, 0, NULL, "cannot set up HDF5 property lists");
        goto out;
    }
    if (im->len == 0) {
        rc = cc_h5_fail(&r.c, false, CC_EFORMAT, 0, "/", "the file is empty; expected an HDF5 file");
        goto out;
    }
    char name[64];
    snprintf(name, sizeof name, "ctxcache-image-%p", (void *)im);
    r.file = H5Fopen(name, H5F_ACC_RDONLY, fapl);
    if (r.file < 0) {
        rc = cc_h5_fail(&r.c, true, CC_EFORMAT, 0, "/",
                  "cannot open as HDF5; expected an HDF5 file (this one is not HDF5, or is "
                  "truncated or corrupt)");
        goto out;
    }
    rc = r_all(&r, t);
out:
    if (r.file >= 0)
        H5Fclose(r.file);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (r.dapl >= 0)
        H5Pclose(r.dapl);
    cc_h5_quiet_end(&r.c);
    if (im->refs == 0) {
        free(im->buf);
        free(im);
    }
    if (rc != CC_OK)
        cc_trace_free(t); /* never a partial trace */
    return rc;
}

/* The HDF5 signature; HDF5 also looks for it after a user block, at 512,
 * 1024, 2048, ... bytes: the first 4 KiB (what detection reads) cover the
 * user blocks up to 2048 bytes. */
int cc_detect_h5(const char *path, const unsigned char *head, size_t head_len)
{
    (void)path;
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    for (size_t off = 0; off + sizeof sig <= head_len; off = off ? off * 2 : 512)
        if (memcmp(head + off, sig, sizeof sig) == 0)
            return 100;
    return 0;
}

/* ---- windows (stream_int.h: streamed replays) ----------------------------------
 * The file is opened with HDF5's own driver (not read into memory) and the
 * replay's columns -- arrival_ns, input_tokens, output_tokens, block_offset,
 * block hashes -- are read a window at a time: a chunked shuffle/deflate
 * column by decoding its chunks here (below: each chunk once, kept while
 * windows use it), any other layout as hyperslabs through HDF5, each dataset
 * with a chunk cache of 1 MiB so that a chunk shared by two windows is
 * inflated once.  Checks: those of r_all on the root attributes and on these
 * datasets' types and lengths, and r_offsets / r_check_requests on each
 * window's rows (arrivals >= 0 and non-decreasing, offsets from 0 and
 * non-decreasing, ceil(input / block_size) blocks or none); the columns a
 * replay does not read (sessions, tenants, tokens, chunks, text) are not
 * read, hence not checked. */

enum { W_ARR, W_IN, W_OUT, W_OFF, W_BLK, W_N };
static const char *const w_path[W_N] = {"/requests/arrival_ns", "/requests/input_tokens",
                                        "/requests/output_tokens", "/index/block_offset",
                                        "/blocks/hash"};
static const elem_kind w_kind[W_N] = {E_I64, E_U32, E_U32, E_U64, E_U64};

/* A column whose chunks the window reader decodes itself (see
 * w_direct_setup): its chunk geometry and pipeline, the chunk decoded last,
 * and buffers for one chunk's stored bytes and its inflated bytes. */
typedef struct w_direct {
    int on;
    size_t es;                /* element bytes */
    uint64_t chunk;           /* elements per chunk */
    int nf;                   /* filters, applied in order when written */
    H5Z_filter_t filt[2];     /* each H5Z_FILTER_SHUFFLE or H5Z_FILTER_DEFLATE */
    uint64_t have;            /* chunk number in buf, UINT64_MAX: none */
    unsigned char *buf;       /* the decoded chunk (chunk * es bytes) */
    int shuffled;             /* buf holds it still shuffled (its last step, done
                                 per window straight into the window: w_slab) */
    unsigned char *raw, *tmp; /* stored bytes; inflated, before unshuffling */
    size_t raw_cap;
} w_direct;

struct cc_h5_window_reader {
    h5r r;
    hid_t ds[W_N];
    w_direct d[W_N];
    struct libdeflate_decompressor *z; /* for every direct column */
    uint64_t n, nb;
    uint32_t block_size;
    int64_t prev_arrival;
    uint64_t prev_off;
    char path[512];
};

static void w_direct_setup(cc_h5_window_reader *w, int k);

void cc_h5_window_close(cc_h5_window_reader *w)
{
    if (!w)
        return;
    cc_h5_quiet_begin(&w->r.c, w->path, NULL);
    for (int k = 0; k < W_N; k++) {
        if (w->ds[k] >= 0)
            H5Dclose(w->ds[k]);
        free(w->d[k].buf);
        free(w->d[k].raw);
        free(w->d[k].tmp);
    }
    if (w->z)
        libdeflate_free_decompressor(w->z);
    if (w->r.file >= 0)
        H5Fclose(w->r.file);
    if (w->r.dapl >= 0)
        H5Pclose(w->r.dapl);
    cc_h5_quiet_end(&w->r.c);
    free(w);
}

int cc_h5_window_open(const char *path, cc_h5_window_reader **out, uint64_t *n,
                      uint32_t *block_size, char *source_format, size_t fmt_len,
                      char *source, size_t src_len, cc_err *err)
{
    *out = NULL;
    cc_h5_window_reader *w = calloc(1, sizeof *w);
    if (!w)
        return cc_err_set(err, CC_ENOMEM, path, 0, NULL, "out of memory");
    snprintf(w->path, sizeof w->path, "%s", path);
    for (int k = 0; k < W_N; k++)
        w->ds[k] = -1;
    w->r.file = w->r.dapl = -1;
    w->prev_arrival = INT64_MIN;
    h5r *r = &w->r;
    cc_h5_quiet_begin(&r->c, w->path, err);
    int rc = CC_OK;
    char fmt[64];
    uint64_t u = 0;
    r->dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (r->dapl < 0 || H5Pset_chunk_cache(r->dapl, 521, 1 << 20, 1.0) < 0)
        rc = cc_h5_fail(&r->c, true, CC_ENOMEM, 0, NULL, "cannot set up HDF5 property lists");
    if (rc == CC_OK && (r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        rc = cc_h5_fail(&r->c, true, CC_EFORMAT, 0, "/",
                        "cannot open as HDF5; expected an HDF5 file");
    if (rc == CC_OK)
        rc = r_attr_str(r, "format", true, fmt, sizeof fmt);
    if (rc == CC_OK && strcmp(fmt, H5TRACE_FORMAT) != 0)
        rc = cc_h5_fail(&r->c, false, CC_EFORMAT, 0, "/@format",
                        "is '%s'; expected '%s' (this HDF5 file is not a ctxcache trace)", fmt,
                        H5TRACE_FORMAT);
    if (rc == CC_OK)
        rc = r_attr_int(r, "schema_version", true, 0, UINT64_MAX, NULL, &u, NULL);
    if (rc == CC_OK && (u > SCHEMA_MAJOR || u < 1))
        rc = cc_h5_fail(&r->c, false, u > SCHEMA_MAJOR ? CC_EUNSUP : CC_EFORMAT, 0,
                        "/@schema_version", "is %llu; expected %d", (unsigned long long)u,
                        SCHEMA_MAJOR);
    if (rc == CC_OK)
        rc = r_attr_int(r, "block_size", true, 0, MAX_BLOCK_SIZE, NULL, &u, NULL);
    w->block_size = (uint32_t)u;
    if (rc == CC_OK)
        rc = r_attr_str(r, "source_format", false, source_format, fmt_len);
    if (rc == CC_OK)
        rc = r_attr_str(r, "source", false, source, src_len);
    uint64_t len[W_N] = {0};
    for (int k = 0; k < W_N && rc == CC_OK; k++) {
        uint64_t want = k == W_ARR ? ANY_LEN : k == W_OFF ? len[W_ARR] + 1 : k == W_BLK
                        ? ANY_LEN : len[W_ARR];
        rc = r_open(r, w_path[k], w_kind[k], 1, want, 0, "one per request", &w->ds[k], &len[k]);
    }
    for (int k = 0; k < W_N && rc == CC_OK; k++)
        w_direct_setup(w, k);
    if (rc == CC_OK) {
        w->n = len[W_ARR];
        w->nb = len[W_BLK];
        if (w->nb == 0 || w->block_size == 0)
            rc = cc_err_set(err, CC_EUNSUP, path, 0, "/blocks/hash",
                            "no block hashes: the trace is read whole");
    }
    cc_h5_quiet_end(&r->c);
    if (rc != CC_OK) {
        cc_h5_window_close(w);
        return rc;
    }
    *n = w->n;
    *block_size = w->block_size;
    *out = w;
    return CC_OK;
}

/* ---- decoding chunks here ----
 * HDF5's own path for a hyperslab of a compressed column (chunk cache,
 * filter pipeline, then a copy into the selection) costs about as much as
 * the replay on a one-block-per-request trace: its unshuffle moves one byte
 * at a time.  For a chunked column whose pipeline is shuffle and/or
 * deflate (what the writer emits; h5py's gzip/shuffle too), stored little-
 * endian on a little-endian host, the window reader takes each chunk's
 * stored bytes (H5Dread_chunk), inflates them with libdeflate (which checks
 * the stream's Adler-32, as HDF5's deflate filter does) and unshuffles them
 * 16 elements at a time into a buffer holding that chunk, from which
 * windows are copied.  Any other layout, an unallocated chunk (fill value)
 * or a chunk whose filter mask skipped a filter the code does not expect
 * goes through H5Dread as before; the values are the same either way. */
static void w_direct_setup(cc_h5_window_reader *w, int k)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w_direct *d = &w->d[k];
    d->have = UINT64_MAX;
    hid_t dcpl = H5Dget_create_plist(w->ds[k]), type = H5Dget_type(w->ds[k]);
    hsize_t ch = 0;
    unsigned opts = 0;
    int ok = dcpl >= 0 && type >= 0 && H5Tget_order(type) == H5T_ORDER_LE &&
             H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, &ch) == 1 && ch > 0 &&
             H5Pget_chunk_opts(dcpl, &opts) >= 0 &&
             !(opts & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS);
    d->es = ok ? H5Tget_size(type) : 0;
    int nf = ok ? H5Pget_nfilters(dcpl) : -1;
    ok = ok && nf >= 0 && nf <= 2 && (d->es == 4 || d->es == 8) &&
         ch <= (64u << 20) / d->es;
    for (int i = 0; ok && i < nf; i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        H5Z_filter_t f = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, 0, NULL, NULL);
        /* shuffle's first parameter is the element size it shuffled with */
        ok = (f == H5Z_FILTER_DEFLATE) || (f == H5Z_FILTER_SHUFFLE && ncd >= 1 && cd[0] == d->es);
        d->filt[i] = f;
    }
    if (type >= 0)
        H5Tclose(type);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (!ok)
        return;
    d->chunk = ch;
    d->nf = nf;
    size_t bytes = (size_t)ch * d->es;
    d->buf = malloc(bytes);
    d->tmp = malloc(bytes);
    if (!d->buf || !d->tmp)
        return; /* freed at close; H5Dread still works */
    if (!w->z && !(w->z = libdeflate_alloc_decompressor()))
        return;
    d->on = 1;
#else
    (void)w;
    (void)k;
#endif
}

/* HDF5's shuffle filter stores byte j of every element together (plane j,
 * of stride elements); this puts elements [start, start + m) of es bytes
 * back into dst. */
static void unshuffle_range(unsigned char *dst, const unsigned char *src, size_t stride,
                            size_t start, size_t m, size_t es)
{
    size_t i = 0;
    src += start;
#ifdef __SSE2__
    if (es == 8) {
        for (; i + 16 <= m; i += 16) {
            __m128i p[8], a[8], b[4], c[4];
            for (int j = 0; j < 8; j++)
                p[j] = _mm_loadu_si128((const __m128i *)(const void *)(src + j * stride + i));
            for (int j = 0; j < 4; j++) { /* byte pairs (2j, 2j + 1) */
                a[2 * j] = _mm_unpacklo_epi8(p[2 * j], p[2 * j + 1]);     /* elements 0-7 */
                a[2 * j + 1] = _mm_unpackhi_epi8(p[2 * j], p[2 * j + 1]); /* 8-15 */
            }
            b[0] = _mm_unpacklo_epi16(a[0], a[2]); /* bytes 0-3 of elements 0-3 */
            b[1] = _mm_unpackhi_epi16(a[0], a[2]); /* 4-7 */
            b[2] = _mm_unpacklo_epi16(a[1], a[3]); /* 8-11 */
            b[3] = _mm_unpackhi_epi16(a[1], a[3]); /* 12-15 */
            c[0] = _mm_unpacklo_epi16(a[4], a[6]); /* bytes 4-7 of elements 0-3 */
            c[1] = _mm_unpackhi_epi16(a[4], a[6]);
            c[2] = _mm_unpacklo_epi16(a[5], a[7]);
            c[3] = _mm_unpackhi_epi16(a[5], a[7]);
            __m128i *o = (__m128i *)(void *)(dst + i * 8);
            for (int j = 0; j < 4; j++) {
                _mm_storeu_si128(o + 2 * j, _mm_unpacklo_epi32(b[j], c[j]));
                _mm_storeu_si128(o + 2 * j + 1, _mm_unpackhi_epi32(b[j], c[j]));
            }
        }
    } else if (es == 4) {
        for (; i + 16 <= m; i += 16) {
            __m128i p[4];
            for (int j = 0; j < 4; j++)
                p[j] = _mm_loadu_si128((const __m128i *)(const void *)(src + j * stride + i));
            __m128i a0 = _mm_unpacklo_epi8(p[0], p[1]), a1 = _mm_unpackhi_epi8(p[0], p[1]);
            __m128i a2 = _mm_unpacklo_epi8(p[2], p[3]), a3 = _mm_unpackhi_epi8(p[2], p[3]);
            __m128i *o = (__m128i *)(void *)(dst + i * 4);
            _mm_storeu_si128(o + 0, _mm_unpacklo_epi16(a0, a2));
            _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(a0, a2));
            _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(a1, a3));
            _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(a1, a3));
        }
    }
#endif
    for (; i < m; i++)
        for (size_t j = 0; j < es; j++)
            dst[i * es + j] = src[j * stride + i];
}

/* The whole of a shuffled buffer of n elements (the n * es bytes after them,
 * if any, are copied as they are, as the filter leaves them). */
static void unshuffle(unsigned char *dst, const unsigned char *src, size_t n, size_t es,
                      size_t tail)
{
    unshuffle_range(dst, src, n, 0, n, es);
    memcpy(dst + n * es, src + n * es, tail);
}

/* A zlib stream (RFC 1950: header, deflate, Adler-32 of the data) inflated
 * into out, which it must fill exactly: libdeflate checks the header and the
 * Adler-32 as HDF5's deflate filter (zlib) does, several times faster (its
 * checksum is vectorised; zlib's bytewise Adler-32 took as long as the
 * inflate on the writer's compressible columns).  NULL, or what is wrong. */
static const char *w_inflate(struct libdeflate_decompressor *z, const unsigned char *in,
                             size_t len, unsigned char *out, size_t bytes)
{
    size_t got = 0;
    switch (libdeflate_zlib_decompress(z, in, len, out, bytes, &got)) {
    case LIBDEFLATE_SUCCESS:
        return got == bytes ? NULL : "less data than the chunk holds";
    case LIBDEFLATE_INSUFFICIENT_SPACE:
        return "more data than the chunk holds";
    case LIBDEFLATE_SHORT_OUTPUT:
        return "less data than the chunk holds";
    default:
        return "bad header, data or data check";
    }
}

/* Decodes chunk c of column k into d->buf.  CC_OK; 1 when this chunk must
 * go through H5Dread (unallocated: fill values; a filter mask this code
 * does not follow); an error for a chunk that does not decode. */
static int w_chunk(cc_h5_window_reader *w, int k, uint64_t c)
{
    w_direct *d = &w->d[k];
    hsize_t off = c * d->chunk, nbytes = 0;
    size_t bytes = (size_t)d->chunk * d->es;
    uint32_t mask = 0;
    d->have = UINT64_MAX; /* until this chunk is whole in buf */
    if (H5Dget_chunk_storage_size(w->ds[k], &off, &nbytes) < 0 || nbytes == 0)
        return 1;
    if (nbytes > 2 * (hsize_t)bytes + (1u << 20))
        return cc_h5_fail(&w->r.c, false, CC_EFORMAT, (long)off + 1, w_path[k],
                          "a chunk of %zu bytes is stored in %llu bytes (corrupt file)", bytes,
                          (unsigned long long)nbytes);
    if (nbytes > d->raw_cap) {
        unsigned char *nr = realloc(d->raw, (size_t)nbytes);
        if (!nr)
            return cc_h5_fail(&w->r.c, false, CC_ENOMEM, 0, w_path[k], "out of memory");
        d->raw = nr;
        d->raw_cap = (size_t)nbytes;
    }
    if (H5Dread_chunk(w->ds[k], H5P_DEFAULT, &off, &mask, d->raw) < 0)
        return cc_h5_fail(&w->r.c, true, CC_EFORMAT, (long)off + 1, w_path[k],
                          "cannot read the data (truncated or corrupt file)");
    if (mask >> d->nf)
        return 1;
    const unsigned char *p = d->raw;
    size_t len = (size_t)nbytes;
    d->shuffled = 0;
    for (int i = d->nf - 1; i >= 0; i--) {
        if (mask & (1u << i))
            continue; /* skipped when written (an optional filter that failed) */
        if (i == 0 && d->filt[0] == H5Z_FILTER_SHUFFLE && len == bytes) {
            /* the last step: left to w_slab, which unshuffles each window's
             * elements straight into the window (no second pass over the
             * chunk and no copy) */
            d->shuffled = 1;
            continue;
        }
        if (d->filt[i] == H5Z_FILTER_DEFLATE) {
            unsigned char *out = p == d->tmp ? d->buf : d->tmp;
            const char *why = w_inflate(w->z, p, len, out, bytes);
            if (why)
                return cc_h5_fail(&w->r.c, false, CC_EFORMAT, (long)off + 1, w_path[k],
                                  "the chunk at element %llu does not inflate (%s): corrupt "
                                  "file", (unsigned long long)off, why);
            p = out;
            len = bytes;
        } else {
            if (len != bytes)
                return cc_h5_fail(&w->r.c, false, CC_EFORMAT, (long)off + 1, w_path[k],
                                  "a chunk holds %zu bytes; expected %zu (corrupt file)", len,
                                  bytes);
            unsigned char *out = p == d->buf ? d->tmp : d->buf;
            unshuffle(out, p, bytes / d->es, d->es, 0);
            p = out;
        }
    }
    if (len != bytes)
        return cc_h5_fail(&w->r.c, false, CC_EFORMAT, (long)off + 1, w_path[k],
                          "a chunk holds %zu bytes; expected %zu (corrupt file)", len, bytes);
    if (p != d->buf) { /* ends in tmp or raw: keep buf as the decoded chunk */
        unsigned char *t = d->buf;
        if (p == d->tmp) {
            d->buf = d->tmp;
            d->tmp = t;
        } else
            memcpy(d->buf, p, bytes);
    }
    d->have = c;
    return CC_OK;
}

static int w_slab_h5(cc_h5_window_reader *w, int k, uint64_t first, uint64_t count, void *buf);


/* Elements [in, in + m) of the decoded chunk into out. */
static inline void w_copy(const w_direct *d, uint64_t in, uint64_t m, unsigned char *out)
{
    if (d->shuffled)
        unshuffle_range(out, d->buf, (size_t)d->chunk, (size_t)in, (size_t)m, d->es);
    else
        memcpy(out, d->buf + in * d->es, (size_t)m * d->es);
}

/* count elements from first of dataset k into buf. */
static int w_slab(cc_h5_window_reader *w, int k, uint64_t first, uint64_t count, void *buf)
{
    w_direct *d = &w->d[k];
    if (!d->on)
        return w_slab_h5(w, k, first, count, buf);
    unsigned char *out = buf;
    while (count) {
        uint64_t c = first / d->chunk, in = first - c * d->chunk;
        uint64_t m = d->chunk - in < count ? d->chunk - in : count;
        if (d->have != c) {
            int rc = w_chunk(w, k, c);
            if (rc == 1)
                rc = w_slab_h5(w, k, first, m, out);
            else if (rc == CC_OK)
                w_copy(d, in, m, out);
            if (rc != CC_OK)
                return rc;
        } else
            w_copy(d, in, m, out);
        out += m * d->es;
        first += m;
        count -= m;
    }
    return CC_OK;
}

static int w_slab_h5(cc_h5_window_reader *w, int k, uint64_t first, uint64_t count, void *buf)
{
    if (!count)
        return CC_OK;
    hsize_t start = first, cnt = count;
    hid_t fs = H5Dget_space(w->ds[k]), ms = H5Screate_simple(1, &cnt, NULL);
    int ok = fs >= 0 && ms >= 0 &&
             H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL) >= 0 &&
             H5Dread(w->ds[k], mem_type(w_kind[k]), ms, fs, H5P_DEFAULT, buf) >= 0;
    if (fs >= 0)
        H5Sclose(fs);
    if (ms >= 0)
        H5Sclose(ms);
    return ok ? CC_OK
              : cc_h5_fail(&w->r.c, true, CC_EFORMAT, (long)first + 1, w_path[k],
                           "cannot read the data (truncated or corrupt file)");
}

uint64_t cc_h5_window_blocks(const cc_h5_window_reader *w)
{
    return w->nb;
}

int cc_h5_window_read(cc_h5_window_reader *w, uint64_t first, size_t count, cc_trace *t,
                      size_t *cap_blocks, cc_err *err)
{
    h5r *r = &w->r;
    cc_h5_quiet_begin(&r->c, w->path, err);
    int rc = w_slab(w, W_ARR, first, count, t->arrival_ns);
    if (rc == CC_OK)
        rc = w_slab(w, W_IN, first, count, t->input_tokens);
    if (rc == CC_OK)
        rc = w_slab(w, W_OUT, first, count, t->output_tokens);
    if (rc == CC_OK)
        rc = w_slab(w, W_OFF, first, count + 1, t->block_off);
    const char *opath = "/index/block_offset";
    if (rc == CC_OK && first == 0 && t->block_off[0] != 0)
        rc = cc_h5_fail(&r->c, false, CC_EFORMAT, 1, opath, "starts at %llu; expected 0",
                        (unsigned long long)t->block_off[0]);
    /* The checks below, first without a branch or a division per request
     * (nb = ceil(input / block_size) as (nb - 1) x block_size < input <=
     * nb x block_size, with nb <= input keeping the products in range); a
     * window with a fault goes through them one at a time, for the first
     * one's message. */
    size_t from = count;
    if (rc == CC_OK) {
        uint64_t bad = 0, bs = w->block_size;
        int64_t prev = w->prev_arrival;
        for (size_t i = 0; i < count; i++) {
            uint64_t o0 = t->block_off[i], o1 = t->block_off[i + 1], nb = o1 - o0;
            uint64_t in = t->input_tokens[i];
            int64_t a = t->arrival_ns[i];
            bad |= (uint64_t)(o1 < o0) | (uint64_t)(a < 0) | (uint64_t)(a < prev) |
                   (uint64_t)(a > CC_MAX_ARRIVAL_NS);
            bad |= (uint64_t)(nb != 0) & ((uint64_t)(nb > in) | (uint64_t)((nb - 1) * bs >= in) |
                                          (uint64_t)(in > nb * bs));
            prev = a;
        }
        if (bad)
            from = 0;
        else
            w->prev_arrival = prev;
    }
    for (size_t i = from; rc == CC_OK && i < count; i++) {
        uint64_t gi = first + i;
        long rec = (long)gi + 1;
        if (t->block_off[i + 1] < t->block_off[i])
            rc = cc_h5_fail(&r->c, false, CC_EFORMAT, rec + 1, opath,
                            "element %llu (%llu) is less than element %llu (%llu); expected "
                            "non-decreasing offsets", (unsigned long long)gi + 1,
                            (unsigned long long)t->block_off[i + 1], (unsigned long long)gi,
                            (unsigned long long)t->block_off[i]);
        else if (t->arrival_ns[i] < 0)
            rc = cc_h5_fail(&r->c, false, CC_ERANGE, rec, "/requests/arrival_ns",
                            "request %llu arrives at %lld ns; expected >= 0",
                            (unsigned long long)gi, (long long)t->arrival_ns[i]);
        else if (t->arrival_ns[i] < w->prev_arrival)
            rc = cc_h5_fail(&r->c, false, CC_ERANGE, rec, "/requests/arrival_ns",
                            "request %llu arrives at %lld ns, before request %llu at %lld ns; "
                            "expected non-decreasing arrivals", (unsigned long long)gi,
                            (long long)t->arrival_ns[i], (unsigned long long)gi - 1,
                            (long long)w->prev_arrival);
        else if (t->arrival_ns[i] > CC_MAX_ARRIVAL_NS)
            rc = cc_h5_fail(&r->c, false, CC_ERANGE, rec, "/requests/arrival_ns",
                            "request %llu arrives at %lld ns; expected at most 2^62 ns",
                            (unsigned long long)gi, (long long)t->arrival_ns[i]);
        if (rc != CC_OK)
            break;
        w->prev_arrival = t->arrival_ns[i];
        uint64_t nb = t->block_off[i + 1] - t->block_off[i];
        if (nb && nb != ((uint64_t)t->input_tokens[i] + w->block_size - 1) / w->block_size)
            rc = cc_h5_fail(&r->c, false, CC_EFORMAT, rec, opath,
                            "request %llu has %llu blocks for %u input tokens; expected "
                            "ceil(input_tokens / block_size %u) or none",
                            (unsigned long long)gi, (unsigned long long)nb,
                            t->input_tokens[i], w->block_size);
    }
    uint64_t b0 = count ? t->block_off[0] : 0, b1 = count ? t->block_off[count] : 0;
    if (rc == CC_OK && b1 > w->nb)
        rc = cc_h5_fail(&r->c, false, CC_EFORMAT, (long)(first + count) + 1, opath,
                        "ends at %llu, past the %llu block hashes of /blocks/hash",
                        (unsigned long long)b1, (unsigned long long)w->nb);
    if (rc == CC_OK && first + count == w->n && b1 != w->nb)
        rc = cc_h5_fail(&r->c, false, CC_EFORMAT, 0, "/blocks/hash",
                        "has %llu rows; expected %llu (block hashes: the last entry of "
                        "/index/block_offset)", (unsigned long long)w->nb,
                        (unsigned long long)b1);
    if (rc == CC_OK && b1 - b0 > *cap_blocks) {
        uint64_t *nbuf = realloc(t->blocks, (b1 - b0) * sizeof *nbuf);
        if (!nbuf)
            rc = cc_h5_fail(&r->c, false, CC_ENOMEM, 0, "/blocks/hash", "out of memory");
        else {
            t->blocks = nbuf;
            *cap_blocks = b1 - b0;
        }
    }
    if (rc == CC_OK)
        rc = w_slab(w, W_BLK, b0, b1 - b0, t->blocks);
    for (size_t i = 0; rc == CC_OK && i <= count; i++)
        t->block_off[i] -= b0;
    cc_h5_quiet_end(&r->c);
    return rc;
}
