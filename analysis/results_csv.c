/*
 * results_csv.c -- a results file's per-request table as CSV, for pandas
 * and spreadsheets (`ctxcache results FILE.h5 --csv`).
 *
 * Columns: index (the request's place in the trace), every other dataset of
 * /requests in name order (HDF5's name index, so the order is fixed), then those of /sim/requests whose names /requests
 * does not have (the simulator's TTFT, TPOT, end-to-end and queue seconds,
 * instance, preemptions, prefill seconds, ...), then the per-request
 * datasets of /semantic and /blend (schema 1.3) named with the group's
 * prefix: semantic_outcome, blend_tokens, blend_recompute_tokens.  A per-tier dataset (N x T)
 * becomes T columns NAME.TIER with the tier names of /tiers/name.  One row
 * per request, in trace order; integers printed exactly, floats with 17
 * significant digits (they read back to the same double).  The whole table
 * is read into memory, one column at a time as doubles or 64-bit integers
 * (8 bytes x N x columns).
 */
#include "results.h"
#include "core/h5io.h"

#include <hdf5.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct col {
    char name[160];
    int is_float, is_signed;
    void *data; /* N values: double, int64_t or uint64_t */
} col;

typedef struct cols {
    col *c;
    size_t n, cap;
    uint64_t rows;
    char tiers[8][64];
    int n_tiers;
    const cc_h5_quiet *q;
    const char *group;
    const char *prefix; /* put before the dataset's name unless it starts with it */
    int failed;
} cols;

static int has_col(const cols *C, const char *name)
{
    for (size_t i = 0; i < C->n; i++)
        if (!strcmp(C->c[i].name, name))
            return 1;
    return 0;
}

static col *add_col(cols *C, const char *name)
{
    if (C->n == C->cap) {
        size_t nc = C->cap ? 2 * C->cap : 32;
        col *x = realloc(C->c, nc * sizeof *x);
        if (!x)
            return NULL;
        C->c = x;
        C->cap = nc;
    }
    col *c = &C->c[C->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    return c;
}

static herr_t visit(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    (void)info;
    cols *C = op;
    char full[160];
    const char *dname = name;
    if (C->prefix[0] && strncmp(name, C->prefix, strlen(C->prefix))) {
        snprintf(full, sizeof full, "%s%s", C->prefix, name);
        name = full;
    }
    if (has_col(C, name))
        return 0; /* /sim/requests repeats the root's times */
    hid_t d = H5Dopen2(g, dname, H5P_DEFAULT);
    if (d < 0)
        return 0; /* a group or something else: not a column */
    hid_t sp = H5Dget_space(d), ty = H5Dget_type(d);
    int rank = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[2] = {0, 0};
    H5T_class_t cls = H5Tget_class(ty);
    int ok = rank >= 1 && rank <= 2 && H5Sget_simple_extent_dims(sp, dims, NULL) == rank &&
             (cls == H5T_INTEGER || cls == H5T_FLOAT);
    int is_float = cls == H5T_FLOAT, is_signed = cls == H5T_INTEGER && H5Tget_sign(ty) == H5T_SGN_2;
    H5Tclose(ty);
    H5Sclose(sp);
    if (!ok) {
        H5Dclose(d);
        return 0; /* strings and the like: not per-request numbers */
    }
    if (C->rows == UINT64_MAX)
        C->rows = dims[0];
    if (dims[0] != C->rows) {
        H5Dclose(d);
        cc_h5_fail(C->q, false, CC_EFORMAT, 0, name,
                   "%s/%s has %llu rows, the table %llu", C->group, name,
                   (unsigned long long)dims[0], (unsigned long long)C->rows);
        C->failed = 1;
        return -1;
    }
    size_t width = rank == 2 ? (size_t)dims[1] : 1;
    size_t n = (size_t)dims[0] * width;
    void *buf = malloc(n ? n * 8 : 8);
    hid_t mt = is_float ? H5T_NATIVE_DOUBLE : is_signed ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
    if (!buf || (n && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)) {
        free(buf);
        H5Dclose(d);
        cc_h5_fail(C->q, buf != NULL, buf ? CC_EIO : CC_ENOMEM, 0, name, "cannot read %s/%s",
                   C->group, name);
        C->failed = 1;
        return -1;
    }
    H5Dclose(d);
    for (size_t k = 0; k < width; k++) {
        char cname[160];
        if (rank == 2)
            snprintf(cname, sizeof cname, "%s.%s", name,
                     (int)k < C->n_tiers ? C->tiers[k] : "?");
        else
            snprintf(cname, sizeof cname, "%s", name);
        col *c = add_col(C, cname);
        void *cd = malloc(dims[0] ? dims[0] * 8 : 8);
        if (!c || !cd) {
            free(cd);
            free(buf);
            cc_h5_fail(C->q, false, CC_ENOMEM, 0, name, "out of memory");
            C->failed = 1;
            return -1;
        }
        for (hsize_t r = 0; r < dims[0]; r++)
            memcpy((char *)cd + r * 8, (char *)buf + (r * width + k) * 8, 8);
        c->data = cd;
        c->is_float = is_float;
        c->is_signed = is_signed;
    }
    free(buf);
    return 0;
}

static void read_tier_names(hid_t f, cols *C)
{
    if (H5Lexists(f, "tiers", H5P_DEFAULT) <= 0 || H5Lexists(f, "tiers/name", H5P_DEFAULT) <= 0)
        return;
    hid_t d = H5Dopen2(f, "tiers/name", H5P_DEFAULT);
    if (d < 0)
        return;
    hid_t ty = H5Dget_type(d), sp = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(sp, &n, NULL);
    size_t sz = H5Tget_size(ty);
    if (H5Tget_class(ty) == H5T_STRING && !H5Tis_variable_str(ty) && n <= 8 && sz < 4096) {
        char *buf = calloc((size_t)n, sz + 1);
        hid_t mt = H5Tcopy(ty);
        if (buf && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
            for (hsize_t i = 0; i < n; i++)
                snprintf(C->tiers[i], sizeof C->tiers[i], "%.*s", (int)sz, buf + i * sz);
        C->n_tiers = (int)n;
        H5Tclose(mt);
        free(buf);
    }
    H5Tclose(ty);
    H5Sclose(sp);
    H5Dclose(d);
}

int cc_results_export_csv(const char *path, FILE *out, uint64_t *rows_out, cc_err *err)
{
    cc_h5_quiet q;
    cc_h5_quiet_begin(&q, path, err);
    cols C = {.rows = UINT64_MAX, .q = &q};
    int rc = CC_OK;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        rc = cc_h5_fail(&q, true, CC_EIO, 0, "", "cannot open as HDF5");
        goto done;
    }
    /* a results file says so */
    char fmt[64] = "";
    if (H5Aexists(f, "format") > 0) {
        hid_t a = H5Aopen(f, "format", H5P_DEFAULT), ty = H5Aget_type(a);
        size_t sz = H5Tget_size(ty);
        if (H5Tget_class(ty) == H5T_STRING && !H5Tis_variable_str(ty) && sz < sizeof fmt) {
            hid_t mt = H5Tcopy(ty);
            H5Aread(a, mt, fmt);
            fmt[sz] = '\0';
            H5Tclose(mt);
        }
        H5Tclose(ty);
        H5Aclose(a);
    }
    if (strcmp(fmt, "ctxcache-results")) {
        rc = cc_h5_fail(&q, false, CC_EFORMAT, 0, "format",
                        "not a ctxcache results file (attribute format is '%s', expected "
                        "'ctxcache-results': write one with `ctxcache replay ... -o FILE.h5`)",
                        fmt);
        goto done;
    }
    if (H5Lexists(f, "requests", H5P_DEFAULT) <= 0) {
        rc = cc_h5_fail(&q, false, CC_EFORMAT, 0, "/requests", "the per-request table is missing");
        goto done;
    }
    read_tier_names(f, &C);
    static const char *const groups[] = {"requests", "sim/requests", "semantic", "blend"};
    static const char *const prefixes[] = {"", "", "semantic_", "blend_"};
    for (int g = 0; g < 4; g++) {
        if (g == 1 && (H5Lexists(f, "sim", H5P_DEFAULT) <= 0 ||
                       H5Lexists(f, "sim/requests", H5P_DEFAULT) <= 0))
            continue;
        if (g >= 2 && H5Lexists(f, groups[g], H5P_DEFAULT) <= 0)
            continue;
        C.prefix = prefixes[g];
        hid_t gr = H5Gopen2(f, groups[g], H5P_DEFAULT);
        if (gr < 0) {
            rc = cc_h5_fail(&q, true, CC_EFORMAT, 0, groups[g], "cannot open the group");
            goto done;
        }
        C.group = groups[g];
        hsize_t idx = 0;
        H5Literate(gr, H5_INDEX_NAME, H5_ITER_INC, &idx, visit, &C);
        H5Gclose(gr);
        if (C.failed) {
            rc = err ? err->code : CC_EFORMAT;
            goto done;
        }
    }
    /* the request's index first, then the rest in name order */
    for (size_t i = 1; i < C.n; i++)
        if (!strcmp(C.c[i].name, "index")) {
            col x = C.c[i];
            memmove(C.c + 1, C.c, i * sizeof *C.c);
            C.c[0] = x;
        }
    if (C.n == 0 || C.rows == UINT64_MAX) {
        rc = cc_h5_fail(&q, false, CC_EFORMAT, 0, "/requests", "no per-request column");
        goto done;
    }
    for (size_t i = 0; i < C.n; i++)
        fprintf(out, "%s%s", i ? "," : "", C.c[i].name);
    fputc('\n', out);
    for (uint64_t r = 0; r < C.rows; r++) {
        for (size_t i = 0; i < C.n; i++) {
            const col *c = &C.c[i];
            if (i)
                fputc(',', out);
            if (c->is_float)
                fprintf(out, "%.17g", ((const double *)c->data)[r]);
            else if (c->is_signed)
                fprintf(out, "%" PRId64, ((const int64_t *)c->data)[r]);
            else
                fprintf(out, "%" PRIu64, ((const uint64_t *)c->data)[r]);
        }
        fputc('\n', out);
    }
    if (rows_out)
        *rows_out = C.rows;
done:
    if (f >= 0)
        H5Fclose(f);
    for (size_t i = 0; i < C.n; i++)
        free(C.c[i].data);
    free(C.c);
    cc_h5_quiet_end(&q);
    return rc;
}
