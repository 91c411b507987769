/*
 * h5io.c -- the shared HDF5 writer (see h5io.h for the discipline: quiet
 * errors, deterministic bytes, atomic rename, compression with a probe).
 */
#include "h5io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cc_h5_quiet_begin(cc_h5_quiet *q, const char *path, cc_err *err)
{
    q->path = path;
    q->err = err;
    H5Eget_auto2(H5E_DEFAULT, &q->saved_func, &q->saved_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void cc_h5_quiet_end(cc_h5_quiet *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->saved_func, q->saved_data);
}

static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc)
        snprintf((char *)data, 200, "%s", e->desc);
    return 0;
}

int cc_h5_fail(const cc_h5_quiet *q, bool with_h5, int code, long rec, const char *field,
               const char *fmt, ...)
{
    char msg[400], h5msg[200] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (with_h5)
        H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, h5msg);
    if (h5msg[0])
        return cc_err_set(q->err, code, q->path, rec, field, "%s (HDF5: %s)", msg, h5msg);
    return cc_err_set(q->err, code, q->path, rec, field, "%s", msg);
}

hid_t cc_h5_string_type(size_t size)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, size ? size : 1) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0 ||
                   H5Tset_strpad(t, H5T_STR_NULLPAD) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static void close_props(cc_h5w *w)
{
    if (w->gcpl >= 0)
        H5Pclose(w->gcpl);
    if (w->fapl >= 0)
        H5Pclose(w->fapl);
    if (w->fcpl >= 0)
        H5Pclose(w->fcpl);
    w->gcpl = w->fapl = w->fcpl = -1;
}

int cc_h5w_open(cc_h5w *w, const char *path, cc_err *err)
{
    memset(w, 0, sizeof *w);
    w->file = w->gcpl = w->fcpl = w->fapl = -1;
    w->tmp.lock_fd = -1;
    int claimed = cc_tmpout_claim(&w->tmp, path, err);
    if (claimed != CC_OK)
        return claimed;
    cc_h5_quiet_begin(&w->q, path, err);
    w->fcpl = H5Pcreate(H5P_FILE_CREATE);
    w->fapl = H5Pcreate(H5P_FILE_ACCESS);
    w->gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (w->fcpl < 0 || w->fapl < 0 || w->gcpl < 0 || H5Pset_obj_track_times(w->fcpl, 0) < 0 ||
        H5Pset_obj_track_times(w->gcpl, 0) < 0 ||
        H5Pset_libver_bounds(w->fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0 ||
        H5Pset_fclose_degree(w->fapl, H5F_CLOSE_STRONG) < 0) {
        int rc = cc_h5_fail(&w->q, true, CC_ENOMEM, 0, NULL, "cannot set up HDF5 property lists");
        close_props(w);
        cc_h5_quiet_end(&w->q);
        cc_tmpout_release(&w->tmp, 1);
        return rc;
    }
    w->file = H5Fcreate(w->tmp.path, H5F_ACC_TRUNC, w->fcpl, w->fapl);
    if (w->file < 0) {
        int rc = cc_h5_fail(&w->q, true, CC_EIO, 0, NULL, "cannot create %s", w->tmp.path);
        close_props(w);
        cc_h5_quiet_end(&w->q);
        cc_tmpout_release(&w->tmp, 1); /* nothing half-created stays */
        return rc;
    }
    return CC_OK;
}

int cc_h5w_close(cc_h5w *w, int rc)
{
    if (w->file >= 0) {
        herr_t closed = H5Fclose(w->file);
        w->file = -1;
        if (rc == CC_OK && closed < 0)
            rc = cc_h5_fail(&w->q, true, CC_EIO, 0, NULL, "cannot finish writing %s",
                            w->tmp.path);
        if (rc == CC_OK && rename(w->tmp.path, w->q.path) != 0)
            rc = cc_err_set(w->q.err, CC_EIO, w->q.path, 0, NULL, "cannot rename %s to it: %s",
                            w->tmp.path, strerror(errno));
    }
    cc_tmpout_release(&w->tmp, rc != CC_OK); /* no partial output */
    close_props(w);
    cc_h5_quiet_end(&w->q);
    return rc;
}

int cc_h5w_group(cc_h5w *w, const char *path)
{
    hid_t g = H5Gcreate2(w->file, path, H5P_DEFAULT, w->gcpl, H5P_DEFAULT);
    if (g < 0)
        return cc_h5_fail(&w->q, true, CC_EIO, 0, path, "cannot create group");
    H5Gclose(g);
    return CC_OK;
}

int cc_h5w_attr(cc_h5w *w, const char *obj, const char *name, hid_t ftype, hid_t mtype,
                const void *val)
{
    int rc = CC_OK;
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = space < 0 ? -1
                        : H5Acreate_by_name(w->file, obj, name, ftype, space, H5P_DEFAULT,
                                            H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, val) < 0)
        rc = cc_h5_fail(&w->q, true, CC_EIO, 0, obj, "cannot write attribute '%s'", name);
    if (a >= 0)
        H5Aclose(a);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

int cc_h5w_attr_u64(cc_h5w *w, const char *obj, const char *name, uint64_t v)
{
    return cc_h5w_attr(w, obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}
int cc_h5w_attr_i64(cc_h5w *w, const char *obj, const char *name, int64_t v)
{
    return cc_h5w_attr(w, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}
int cc_h5w_attr_f64(cc_h5w *w, const char *obj, const char *name, double v)
{
    return cc_h5w_attr(w, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}
int cc_h5w_attr_str(cc_h5w *w, const char *obj, const char *name, const char *s)
{
    size_t len = strlen(s);
    hid_t t = cc_h5_string_type(len);
    if (t < 0)
        return cc_h5_fail(&w->q, true, CC_EIO, 0, obj, "cannot make a string type");
    int rc = cc_h5w_attr(w, obj, name, t, t, len ? s : "");
    H5Tclose(t);
    return rc;
}

/* Stored bytes over logical bytes when one chunk of data is written with
 * dcpl's filters, measured in an in-memory HDF5 file (nothing touches the
 * disk); 0 when the probe itself fails (then the filters are kept). */
static double probe_ratio(hid_t ftype, hid_t mtype, int rank, const hsize_t *chunk, hid_t dcpl,
                          const void *data)
{
    double ratio = 0;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f = -1, space = -1, ds = -1;
    if (fapl >= 0 && H5Pset_fapl_core(fapl, CC_H5_CHUNK_BYTES, 0) >= 0 &&
        (f = H5Fcreate("ctxcache-compression-probe", H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) >= 0 &&
        (space = H5Screate_simple(rank, chunk, NULL)) >= 0 &&
        (ds = H5Dcreate2(f, "probe", ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) >= 0 &&
        H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0) {
        hsize_t logical = chunk[0] * (rank == 2 ? chunk[1] : 1) * H5Tget_size(ftype);
        ratio = (double)H5Dget_storage_size(ds) / (double)logical;
    }
    if (ds >= 0)
        H5Dclose(ds);
    if (space >= 0)
        H5Sclose(space);
    if (f >= 0)
        H5Fclose(f);
    if (fapl >= 0)
        H5Pclose(fapl);
    return ratio;
}

int cc_h5w_dataset(cc_h5w *w, const char *path, hid_t ftype, hid_t mtype, int rank,
                   const hsize_t *dims, const void *data, int flags)
{
    int rc = CC_OK;
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t ds = -1;
    if (space < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0)
        goto h5fail;
    hsize_t row = rank == 2 ? dims[1] : 1, total = dims[0] * row;
    if (total > 0 && (flags & (CC_H5_COMPRESS | CC_H5_PROBE))) {
        size_t elem = H5Tget_size(ftype);
        hsize_t rows = CC_H5_CHUNK_BYTES / (elem * row);
        if (rows == 0)
            rows = 1;
        if (rows > dims[0])
            rows = dims[0];
        hsize_t chunk[2] = {rows, row};
        if (H5Pset_chunk(dcpl, rank, chunk) < 0 || (elem > 1 && H5Pset_shuffle(dcpl) < 0) ||
            H5Pset_deflate(dcpl, CC_H5_DEFLATE_LEVEL) < 0)
            goto h5fail;
        if (flags & CC_H5_PROBE) {
            /* the middle chunk: the first is often unrepresentative (early
             * requests repeat prefixes that are still close by) */
            hsize_t mid = (dims[0] / rows) / 2 * rows;
            if (mid + rows > dims[0])
                mid = 0;
            const void *sample = (const char *)data + mid * row * H5Tget_size(mtype);
            if (probe_ratio(ftype, mtype, rank, chunk, dcpl, sample) > 1.0 - CC_H5_MIN_SAVING) {
                H5Pclose(dcpl);
                dcpl = H5Pcreate(H5P_DATASET_CREATE);
                if (dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0)
                    goto h5fail;
            }
        }
    }
    ds = H5Dcreate2(w->file, path, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds < 0 || (total > 0 && H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
        goto h5fail;
    goto done;
h5fail:
    rc = cc_h5_fail(&w->q, true, CC_EIO, 0, path, "cannot write dataset");
done:
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

int cc_h5w_strings(cc_h5w *w, const char *path, const char *const *s, size_t n)
{
    size_t width = 1;
    for (size_t i = 0; i < n; i++)
        if (strlen(s[i]) > width)
            width = strlen(s[i]);
    char *buf = calloc(n ? n : 1, width);
    if (!buf)
        return cc_h5_fail(&w->q, false, CC_ENOMEM, 0, path, "out of memory");
    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * width, s[i], strlen(s[i]));
    int rc;
    hid_t st = cc_h5_string_type(width);
    if (st < 0) {
        rc = cc_h5_fail(&w->q, true, CC_EIO, 0, path, "cannot make a string type");
    } else {
        hsize_t dims[1] = {n};
        rc = cc_h5w_dataset(w, path, st, st, 1, dims, buf, CC_H5_PLAIN);
        H5Tclose(st);
    }
    free(buf);
    return rc;
}
