/*
 * h5io.h -- the HDF5 writing discipline every ctxcache file shares (traces,
 * results, sweeps): one writer object that
 *   - silences HDF5's own error printing for its lifetime (restored at close)
 *     and quotes the innermost HDF5 message in errors instead;
 *   - writes deterministically: no object timestamps, HDF5 1.10 format
 *     (libver bounds v110: checksummed metadata), so equal content gives
 *     byte-identical files;
 *   - writes atomically: the file is PATH.tmp until cc_h5w_close succeeds,
 *     which renames it to PATH; any failure removes PATH.tmp, so PATH is the
 *     complete new file or untouched;
 *   - writes datasets chunked with shuffle + deflate (CC_H5_COMPRESS), and
 *     optionally falls back to plain storage when a probe of the middle chunk
 *     shows the filters save less than a quarter (CC_H5_PROBE: random 64-bit
 *     hashes, float embeddings; inflating noise reads ~4x slower).
 * Fixed-length UTF-8 strings only (cc_h5_string_type): variable-length
 * strings live in the global heap, whose 1.10 reader overruns memory on a
 * damaged heap object.
 * Costs: linear in the data written; the probe costs one chunk's compression.
 */
#ifndef CC_H5IO_H
#define CC_H5IO_H

#include "core.h"

#include <hdf5.h>

#define CC_H5_CHUNK_BYTES (1u << 18) /* 256 KiB chunks: inflate output stays in L2 */
#define CC_H5_DEFLATE_LEVEL 3
#define CC_H5_MIN_SAVING 0.25

enum { CC_H5_PLAIN = 0, CC_H5_COMPRESS = 1, CC_H5_PROBE = 2 };

/* Saved error-printing state; the path and error record errors go to. */
typedef struct cc_h5_quiet {
    const char *path;
    cc_err *err;
    H5E_auto2_t saved_func;
    void *saved_data;
} cc_h5_quiet;

/* Silences HDF5's error printing until cc_h5_quiet_end. */
void cc_h5_quiet_begin(cc_h5_quiet *q, const char *path, cc_err *err);
void cc_h5_quiet_end(cc_h5_quiet *q);
/* Fills q->err (file q->path, line rec, field) from the message; with_h5
 * appends the innermost message on HDF5's error stack (valid right after a
 * failed library call).  Returns code. */
int cc_h5_fail(const cc_h5_quiet *q, bool with_h5, int code, long rec, const char *field,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* A fixed-length NUL-padded UTF-8 string type of size bytes (>= 1); -1 on
 * failure.  The caller closes it. */
hid_t cc_h5_string_type(size_t size);

typedef struct cc_h5w {
    cc_h5_quiet q;
    hid_t file;
    hid_t gcpl, fcpl, fapl;
    cc_tmpout tmp; /* PATH.tmp (core.h: locked, removed on SIGINT/SIGTERM) */
} cc_h5w;

/* Creates PATH.tmp.  CC_EARG for a path too long, CC_EIO (HDF5 message
 * quoted) when it cannot be created; on failure nothing is left to close. */
int cc_h5w_open(cc_h5w *w, const char *path, cc_err *err);
/* Finishes the file: with rc == CC_OK, closes (flushes) and renames PATH.tmp
 * to PATH; otherwise, or when that fails, removes PATH.tmp.  Restores HDF5's
 * error printing.  Returns the final status (rc, or the close/rename error). */
int cc_h5w_close(cc_h5w *w, int rc);

/* A group at path (parents must exist). */
int cc_h5w_group(cc_h5w *w, const char *path);
/* A scalar attribute of the object at obj ("/" for the root). */
int cc_h5w_attr(cc_h5w *w, const char *obj, const char *name, hid_t ftype, hid_t mtype,
                const void *val);
int cc_h5w_attr_u64(cc_h5w *w, const char *obj, const char *name, uint64_t v);
int cc_h5w_attr_i64(cc_h5w *w, const char *obj, const char *name, int64_t v);
int cc_h5w_attr_f64(cc_h5w *w, const char *obj, const char *name, double v);
int cc_h5w_attr_str(cc_h5w *w, const char *obj, const char *name, const char *s);
/* A dataset of rank 1 or 2 (dims[1] = row width) from data in memory type
 * mtype, stored as ftype; flags CC_H5_* (PROBE implies COMPRESS).  Empty
 * datasets are written with zero length, contiguous. */
int cc_h5w_dataset(cc_h5w *w, const char *path, hid_t ftype, hid_t mtype, int rank,
                   const hsize_t *dims, const void *data, int flags);
/* n fixed-length strings (as wide as the longest) as a rank-1 dataset. */
int cc_h5w_strings(cc_h5w *w, const char *path, const char *const *s, size_t n);

#endif
