/*
 * sweep_h5.c -- writes a sweep's results (one row per grid point) as one
 * HDF5 file: root attributes with the run's settings, /points/<column> one
 * 1-D dataset per axis and per metric (row i = grid point i), /axes/<axis>
 * the values each axis took, as written in the spec.  Schema: docs/sweep.md.
 *
 * As analysis/results_h5.c: written to PATH.tmp and renamed on success
 * (removed on failure); object timestamps off, datasets contiguous, nothing
 * wall-clock, so the same spec gives a byte-identical file whoever computed
 * the rows.  Cost: linear in points x columns; one scratch column.
 */
#include "sweep.h"

#include <hdf5.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_FORMAT "ctxcache-sweep"
#define SCHEMA_VERSION 1

typedef struct w {
    const char *path;
    cc_err *err;
    hid_t file, gcpl;
} w;

static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc)
        snprintf((char *)data, 200, "%s", e->desc);
    return 0;
}

static int fail(w *W, const char *where, const char *what)
{
    char h5msg[200] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, h5msg);
    return cc_err_set(W->err, CC_EIO, W->path, 0, where, "%s%s%s%s", what,
                      h5msg[0] ? " (HDF5: " : "", h5msg, h5msg[0] ? ")" : "");
}

static hid_t string_type(size_t size)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, size ? size : 1) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0 ||
                   H5Tset_strpad(t, H5T_STR_NULLPAD) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static int attr(w *W, const char *name, hid_t ftype, hid_t mtype, const void *val)
{
    int rc = CC_OK;
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = space < 0 ? -1 : H5Acreate2(W->file, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, val) < 0)
        rc = fail(W, name, "cannot write root attribute");
    if (a >= 0)
        H5Aclose(a);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static int attr_u64(w *W, const char *name, uint64_t v)
{
    return attr(W, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}

static int attr_str(w *W, const char *name, const char *s)
{
    size_t len = strlen(s);
    hid_t t = string_type(len);
    if (t < 0)
        return fail(W, name, "cannot make a string type");
    int rc = attr(W, name, t, t, len ? s : "");
    H5Tclose(t);
    return rc;
}

static int group(w *W, const char *path)
{
    hid_t g = H5Gcreate2(W->file, path, H5P_DEFAULT, W->gcpl, H5P_DEFAULT);
    if (g < 0)
        return fail(W, path, "cannot create group");
    H5Gclose(g);
    return CC_OK;
}

static int dataset(w *W, const char *path, hid_t ftype, hid_t mtype, size_t rows,
                   const void *data)
{
    int rc = CC_OK;
    hsize_t dims[1] = {rows};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t ds = -1;
    if (space < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0)
        rc = fail(W, path, "cannot set up dataset");
    if (rc == CC_OK) {
        ds = H5Dcreate2(W->file, path, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (ds < 0 || (rows && H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
            rc = fail(W, path, "cannot write dataset");
    }
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

/* A column of fixed-length strings: strs[k] for k < n. */
static int string_column(w *W, const char *path, const char *const *strs, size_t n)
{
    size_t len = 1;
    for (size_t k = 0; k < n; k++)
        if (strlen(strs[k]) > len)
            len = strlen(strs[k]);
    char *buf = calloc(n ? n : 1, len);
    if (!buf)
        return cc_err_set(W->err, CC_ENOMEM, W->path, 0, path, "out of memory");
    for (size_t k = 0; k < n; k++)
        memcpy(buf + k * len, strs[k], strlen(strs[k]));
    hid_t t = string_type(len);
    int rc = t < 0 ? fail(W, path, "cannot make a string type")
                   : dataset(W, path, t, t, n, buf);
    if (t >= 0)
        H5Tclose(t);
    free(buf);
    return rc;
}

static const char *const axis_name[CC_SWEEP_N_AXES] = {
    "trace", "block_size", "policy", "capacity_blocks", "ttl_s", "pricing",
};

static int write_all(w *W, const cc_sweep_spec *S, const cc_sweep_data *D, const double *rows)
{
    uint64_t np = cc_sweep_n_points(S);
    size_t nm = cc_sweep_n_metrics();
    int rc = CC_OK;
    const char *axes_list = "trace,block_size,policy,capacity_blocks,ttl_s,pricing";
    if ((rc = attr_str(W, "format", SWEEP_FORMAT)) || (rc = attr_u64(W, "schema_version", SCHEMA_VERSION)) ||
        (rc = attr_u64(W, "points", np)) || (rc = attr_str(W, "spec_file", S->path)) ||
        (rc = attr_str(W, "axes", axes_list)) ||
        (rc = attr_str(W, "mode", S->mode == CC_PC_PREFIX ? "prefix" : "independent")) ||
        (rc = attr_str(W, "concurrency", cc_concurrency_name(S->concurrency))) ||
        (rc = attr_u64(W, "seed", S->seed)) ||
        (rc = attr_u64(W, "kv_bytes_per_token", S->kv_bytes_per_token)) ||
        (rc = attr_str(W, "ctxcache_version", CC_VERSION)))
        return rc;
    if ((rc = group(W, "/axes")) || (rc = group(W, "/points")))
        return rc;
    char path[256];
    for (int a = 0; a < CC_SWEEP_N_AXES; a++) {
        snprintf(path, sizeof path, "/axes/%s", axis_name[a]);
        if ((rc = string_column(W, path, (const char *const *)S->axes[a].text, S->axes[a].n)))
            return rc;
    }
    size_t cnt = np ? np : 1;
    uint64_t *u = malloc(cnt * sizeof *u);
    double *d = malloc(cnt * sizeof *d);
    const char **s = malloc(cnt * sizeof *s);
    if (!u || !d || !s) {
        free(u);
        free(d);
        free(s);
        return cc_err_set(W->err, CC_ENOMEM, W->path, 0, NULL, "out of memory");
    }
    uint32_t c[CC_SWEEP_N_AXES];
    for (uint64_t i = 0; i < np; i++)
        u[i] = i;
    rc = dataset(W, "/points/index", H5T_STD_U64LE, H5T_NATIVE_UINT64, np, u);
    for (int a = 0; rc == CC_OK && a < CC_SWEEP_N_AXES; a++) {
        snprintf(path, sizeof path, "/points/%s", axis_name[a]);
        for (uint64_t i = 0; i < np; i++) {
            cc_sweep_point_coords(S, i, c);
            s[i] = S->axes[a].text[c[a]];
            if (a == CC_SWEEP_BLOCK_SIZE) /* the block size as run */
                u[i] = D->traces[(size_t)c[CC_SWEEP_TRACE] * D->n_block_sizes + c[a]].block_size;
            else if (a == CC_SWEEP_CAPACITY)
                u[i] = (uint64_t)S->axes[a].num[c[a]];
            d[i] = S->axes[a].num[c[a]];
        }
        if (a == CC_SWEEP_BLOCK_SIZE || a == CC_SWEEP_CAPACITY)
            rc = dataset(W, path, H5T_STD_U64LE, H5T_NATIVE_UINT64, np, u);
        else if (a == CC_SWEEP_TTL)
            rc = dataset(W, path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, np, d);
        else
            rc = string_column(W, path, s, np);
    }
    for (size_t k = 0; rc == CC_OK && k < nm; k++) {
        snprintf(path, sizeof path, "/points/%s", cc_sweep_metric_name(k));
        for (uint64_t i = 0; i < np; i++)
            d[i] = rows[i * nm + k];
        rc = dataset(W, path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, np, d);
    }
    free(u);
    free(d);
    free(s);
    return rc;
}

int cc_sweep_write_h5(const char *path, const cc_sweep_spec *spec, const cc_sweep_data *data,
                      const double *rows, cc_err *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return cc_err_set(err, CC_EARG, path, 0, NULL, "output path too long");
    H5E_auto2_t saved_func;
    void *saved_data;
    H5Eget_auto2(H5E_DEFAULT, &saved_func, &saved_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    w W = {.path = path, .err = err, .file = -1, .gcpl = -1};
    int rc = CC_OK;
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS);
    W.gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (fcpl < 0 || fapl < 0 || W.gcpl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0 ||
        H5Pset_obj_track_times(W.gcpl, 0) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        rc = fail(&W, NULL, "cannot set up HDF5 property lists");
        goto out;
    }
    W.file = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (W.file < 0) {
        rc = fail(&W, NULL, "cannot create the temporary file PATH.tmp");
        goto out;
    }
    rc = write_all(&W, spec, data, rows);
    herr_t closed = H5Fclose(W.file);
    W.file = -1;
    if (rc == CC_OK && closed < 0)
        rc = fail(&W, NULL, "cannot finish writing PATH.tmp");
    if (rc == CC_OK && rename(tmp, path) != 0)
        rc = cc_err_set(err, CC_EIO, path, 0, NULL, "cannot rename %s to it: %s", tmp,
                        strerror(errno));
out:
    if (W.file >= 0)
        H5Fclose(W.file);
    if (rc != CC_OK)
        remove(tmp);
    if (W.gcpl >= 0)
        H5Pclose(W.gcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    H5Eset_auto2(H5E_DEFAULT, saved_func, saved_data);
    return rc;
}
