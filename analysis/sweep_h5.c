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

#include "../core/h5io.h"

#include <hdf5.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_FORMAT "ctxcache-sweep"
#define SCHEMA_VERSION 1
/* 1.1: the tiers, concurrency and serving axes, backend, the simulator's
 * columns (ttft_p50_s ...); readers of 1.0 files find the same names */
/* 1.2: the tp axis (/axes/tp, /points/tp) */
#define SCHEMA_MINOR 2

typedef cc_h5w w; /* core/h5io.h: quiet errors, atomic rename, deterministic bytes */

static int attr_u64(w *W, const char *name, uint64_t v)
{
    return cc_h5w_attr_u64(W, "/", name, v);
}

static int attr_str(w *W, const char *name, const char *s)
{
    return cc_h5w_attr_str(W, "/", name, s);
}

static int group(w *W, const char *path)
{
    return cc_h5w_group(W, path);
}

static int dataset(w *W, const char *path, hid_t ftype, hid_t mtype, size_t rows,
                   const void *data)
{
    hsize_t dims[1] = {rows};
    return cc_h5w_dataset(W, path, ftype, mtype, 1, dims, data, CC_H5_PLAIN);
}

/* A column of fixed-length strings: strs[k] for k < n. */
static int string_column(w *W, const char *path, const char *const *strs, size_t n)
{
    return cc_h5w_strings(W, path, strs, n);
}

static const char *const axis_name[CC_SWEEP_N_AXES] = {
    "trace", "block_size", "policy", "capacity_blocks", "ttl_s", "pricing",
    "tiers", "concurrency", "instances", "hardware", "model", "router", "scheduler", "tp",
};

static int write_all(w *W, const cc_sweep_spec *S, const cc_sweep_data *D, const double *rows)
{
    uint64_t np = cc_sweep_n_points(S);
    size_t nm = cc_sweep_n_metrics();
    int rc = CC_OK;
    const char *axes_list = "trace,block_size,policy,capacity_blocks,ttl_s,pricing,tiers,"
                            "concurrency,instances,hardware,model,router,scheduler,tp";
    /* the concurrency as run when every point runs the same, else "axis" */
    cc_concurrency conc = CC_CONCURRENCY_NONE;
    const char *conc_name = NULL;
    for (uint64_t i = 0; i < np; i++) {
        int rc0 = cc_sweep_point_concurrency(S, D, i, &conc, W->q.err);
        if (rc0 != CC_OK)
            return rc0;
        if (conc_name && strcmp(conc_name, cc_concurrency_name(conc))) {
            conc_name = "axis";
            break;
        }
        conc_name = cc_concurrency_name(conc);
    }
    if ((rc = attr_str(W, "format", SWEEP_FORMAT)) || (rc = attr_u64(W, "schema_version", SCHEMA_VERSION)) ||
        (rc = cc_h5w_attr(W, "/", "schema_minor", H5T_STD_U32LE, H5T_NATIVE_UINT32,
                          &(uint32_t){SCHEMA_MINOR})) ||
        (rc = attr_u64(W, "points", np)) || (rc = attr_str(W, "spec_file", S->path)) ||
        (rc = attr_str(W, "axes", axes_list)) ||
        (rc = attr_str(W, "mode", S->mode == CC_PC_PREFIX ? "prefix" : "independent")) ||
        (rc = attr_str(W, "concurrency", conc_name ? conc_name : "none")) ||
        (rc = attr_str(W, "backend", S->sim ? "sim" : "cache")) ||
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
        return cc_err_set(W->q.err, CC_ENOMEM, W->q.path, 0, NULL, "out of memory");
    }
    uint32_t c[CC_SWEEP_N_AXES];
    size_t cap_run = 0; /* the column of the top tier's capacity as run */
    while (strcmp(cc_sweep_metric_name(cap_run), "capacity_blocks_run"))
        cap_run++;
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
            else if (a == CC_SWEEP_CAPACITY) /* with tiers: the top tier's as run */
                u[i] = strcmp(S->axes[CC_SWEEP_TIERS].text[c[CC_SWEEP_TIERS]], "-")
                           ? (uint64_t)rows[i * nm + cap_run]
                           : (uint64_t)S->axes[a].num[c[a]];
            else if (a == CC_SWEEP_INSTANCES || a == CC_SWEEP_TP)
                u[i] = (uint64_t)S->axes[a].num[c[a]];
            else if (a == CC_SWEEP_CONCURRENCY) {
                cc_concurrency cv;
                if ((rc = cc_sweep_point_concurrency(S, D, i, &cv, W->q.err)) != CC_OK)
                    break;
                s[i] = cc_concurrency_name(cv); /* as run (auto resolved) */
            }
            d[i] = S->axes[a].num[c[a]];
        }
        if (rc != CC_OK)
            break;
        if (a == CC_SWEEP_BLOCK_SIZE || a == CC_SWEEP_CAPACITY || a == CC_SWEEP_INSTANCES ||
            a == CC_SWEEP_TP)
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
    w W;
    int rc = cc_h5w_open(&W, path, err);
    if (rc != CC_OK)
        return rc;
    return cc_h5w_close(&W, write_all(&W, spec, data, rows));
}
