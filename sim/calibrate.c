/*
 * calibrate.c -- fits the cost model's coefficients (efficiency factors and
 * overheads) to measured step times, and writes the result as a hardware
 * profile the simulator loads.
 *
 * The model being fitted (costmodel.c) for a point i (batch B_i sequences
 * of N_i new tokens after C_i cached ones, measured y_i seconds):
 *
 *   t_i = max(Fl_i / e_lin + Fa_i / e_attn,  M_i / e_mem) + o_step + o_item B_i
 *
 * with Fl_i = flops_linear / P, Fa_i = flops_attn / P, M_i = bytes / B from
 * cc_sim_work_forward and the profile's peak P and bandwidth B.  It is
 * piecewise linear in (1/e_lin, 1/e_attn, 1/e_mem, o_step, o_item): which
 * branch of the max holds depends on the coefficients, so the fit is
 * nonlinear least squares (GSL multifit_nlinear, Levenberg-Marquardt with
 * the analytic Jacobian; on the kink the compute branch's subgradient).
 *
 * Choices:
 *  - residuals are relative, r_i = (t_i - y_i) / y_i: the points span
 *    microseconds (decode) to seconds (long prefills) and each should count
 *    for its relative error, which is also what the simulator is judged on;
 *  - the unknowns are u_k = ln(coefficient_k): every coefficient stays
 *    positive and the problem is better scaled;
 *  - the max() makes the cost surface non-convex in places, so LM runs from
 *    28 deterministic starts (the prior, and each efficiency in
 *    {0.05, 0.3, 1}) and the lowest cost wins;
 *  - efficiencies are bounded to 1e-3..4, the range a profile accepts
 *    (profile.c), so the written profile loads: a fit that would push one
 *    past 4 (its term then matters for no point) stops at 4;
 *  - a coefficient the points cannot determine (its Jacobian column is 0 at
 *    the optimum: e.g. e_mem when no point is memory bound) keeps its prior
 *    value and is reported in held_mask; the rest are refitted without it.
 *
 * Reported error: median, 95th percentile and maximum of |t_i - y_i| / y_i,
 * and R^2 = 1 - sum (t_i - y_i)^2 / sum (y_i - mean y)^2 on seconds.
 *
 * Costs: per LM iteration O(n p^2) with p <= 5; a few hundred points fit in
 * milliseconds.  Memory: the GSL workspace (O(n p)) and O(n) features.
 */
#include "sim.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_STARTS 28
#define MAX_ITER 500
#define U_MIN (-60.0) /* e^-60 s ~ 1e-26: an overhead that fits to nothing */

typedef struct fitctx {
    size_t n;
    const double *fl, *fa, *mem, *batch, *y; /* per-point features */
    double u[CC_SIM_N_COEFFS];               /* current log-coefficients */
    int free_idx[CC_SIM_N_COEFFS];           /* which u the solver moves */
    int n_free;
} fitctx;

/* Log-coefficient k kept in range: efficiencies (k < 3) within what a
 * profile accepts (profile.c: 1e-3 to 4), so a fitted profile always loads;
 * overheads between e^U_MIN (nothing) and e^20. */
static double clampu(int k, double u)
{
    double lo = k < 3 ? log(1e-3) : U_MIN, hi = k < 3 ? log(4.0) : 20;
    return u < lo ? lo : u > hi ? hi : u;
}

/* Model time of point i at log-coefficients u; *compute_branch says which
 * side of the max holds. */
static double model_t(const fitctx *c, const double *u, size_t i, int *compute_branch)
{
    double tc = c->fl[i] * exp(-u[0]) + c->fa[i] * exp(-u[1]);
    double tm = c->mem[i] * exp(-u[2]);
    if (compute_branch)
        *compute_branch = tc >= tm;
    return fmax(tc, tm) + exp(u[3]) + exp(u[4]) * c->batch[i];
}

static void unpack(const fitctx *c, const gsl_vector *x, double *u)
{
    memcpy(u, c->u, sizeof c->u);
    for (int k = 0; k < c->n_free; k++)
        u[c->free_idx[k]] = clampu(c->free_idx[k], gsl_vector_get(x, k));
}

static int f_res(const gsl_vector *x, void *params, gsl_vector *f)
{
    const fitctx *c = params;
    double u[CC_SIM_N_COEFFS];
    unpack(c, x, u);
    for (size_t i = 0; i < c->n; i++)
        gsl_vector_set(f, i, (model_t(c, u, i, NULL) - c->y[i]) / c->y[i]);
    return GSL_SUCCESS;
}

/* d t_i / d u_k for all k (before dividing by y_i). */
static void grad(const fitctx *c, const double *u, size_t i, double *g)
{
    int comp;
    model_t(c, u, i, &comp);
    g[0] = comp ? -c->fl[i] * exp(-u[0]) : 0;
    g[1] = comp ? -c->fa[i] * exp(-u[1]) : 0;
    g[2] = comp ? 0 : -c->mem[i] * exp(-u[2]);
    g[3] = exp(u[3]);
    g[4] = exp(u[4]) * c->batch[i];
}

static int df_res(const gsl_vector *x, void *params, gsl_matrix *J)
{
    const fitctx *c = params;
    double u[CC_SIM_N_COEFFS], g[CC_SIM_N_COEFFS];
    unpack(c, x, u);
    for (size_t i = 0; i < c->n; i++) {
        grad(c, u, i, g);
        for (int k = 0; k < c->n_free; k++)
            gsl_matrix_set(J, i, k, g[c->free_idx[k]] / c->y[i]);
    }
    return GSL_SUCCESS;
}

static double cost(const fitctx *c, const double *u)
{
    double s = 0;
    for (size_t i = 0; i < c->n; i++) {
        double r = (model_t(c, u, i, NULL) - c->y[i]) / c->y[i];
        s += r * r;
    }
    return s;
}

/* One LM run from u0 (full vector; only free entries move).  Writes the
 * solution into u_out and returns its cost (HUGE_VAL when GSL failed). */
static double lm_run(fitctx *c, const double *u0, double *u_out, int *iters)
{
    memcpy(c->u, u0, sizeof c->u);
    gsl_multifit_nlinear_fdf fdf = {0};
    fdf.f = f_res;
    fdf.df = df_res;
    fdf.n = c->n;
    fdf.p = (size_t)c->n_free;
    fdf.params = c;
    gsl_multifit_nlinear_parameters par = gsl_multifit_nlinear_default_parameters();
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &par, c->n, (size_t)c->n_free);
    gsl_vector *x = gsl_vector_alloc((size_t)c->n_free);
    double result = HUGE_VAL;
    if (w && x) {
        for (int k = 0; k < c->n_free; k++)
            gsl_vector_set(x, k, u0[c->free_idx[k]]);
        int info;
        if (gsl_multifit_nlinear_init(x, &fdf, w) == GSL_SUCCESS) {
            /* EMAXITER / ENOPROG still leave a usable position: judged by cost */
            gsl_multifit_nlinear_driver(MAX_ITER, 1e-12, 1e-12, 1e-14, NULL, NULL, &info, w);
            unpack(c, gsl_multifit_nlinear_position(w), u_out);
            result = cost(c, u_out);
            *iters = (int)gsl_multifit_nlinear_niter(w);
        }
    }
    gsl_vector_free(x);
    gsl_multifit_nlinear_free(w);
    return isfinite(result) ? result : HUGE_VAL;
}

static int check_points(const cc_calib_point *pts, size_t n, cc_err *err)
{
    if (n < CC_SIM_N_COEFFS + 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "points",
                          "expected at least %d points to fit %d coefficients, found %zu",
                          CC_SIM_N_COEFFS + 1, CC_SIM_N_COEFFS, n);
    for (size_t i = 0; i < n; i++) {
        const cc_calib_point *p = &pts[i];
        if (p->n_new < 1 || p->n_new > 1000000000)
            return cc_err_set(err, CC_EARG, NULL, 0, "n_new",
                              "point %zu: expected 1 to 1e9 new tokens, found %lld", i,
                              (long long)p->n_new);
        if (p->n_cached < 0 || p->n_cached > 1000000000)
            return cc_err_set(err, CC_EARG, NULL, 0, "n_cached",
                              "point %zu: expected 0 to 1e9 cached tokens, found %lld", i,
                              (long long)p->n_cached);
        if (p->batch < 1 || p->batch > 1000000)
            return cc_err_set(err, CC_EARG, NULL, 0, "batch",
                              "point %zu: expected 1 to 1e6 sequences, found %lld", i,
                              (long long)p->batch);
        if (!(p->seconds > 0) || !(p->seconds < 1e6))
            return cc_err_set(err, CC_EARG, NULL, 0, "seconds",
                              "point %zu: expected a positive duration below 1e6 s, found %g",
                              i, p->seconds);
    }
    return CC_OK;
}

int cc_calib_fit(const cc_sim_hw *hw, const cc_sim_model *m_in, const cc_calib_point *pts,
                 size_t n, cc_calib_result *res, cc_err *err)
{
    memset(res, 0, sizeof *res);
    int rc = cc_sim_hw_validate(hw, err);
    if (!rc)
        rc = cc_sim_model_validate(m_in, err);
    if (!rc)
        rc = check_points(pts, n, err);
    if (rc)
        return rc;
    cc_sim_model m = *m_in;
    if (m.kv_dtype < 0)
        m.kv_dtype = m.dtype;
    double peak = hw->peak_flop_per_s[m.dtype];
    if (!(peak > 0))
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "dtype",
                          "hardware '%s' has no %s peak to calibrate against", hw->name,
                          cc_sim_dtype_name(m.dtype));

    double *buf = malloc(6 * n * sizeof(double));
    if (!buf)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "", "cannot allocate %zu points", n);
    double *fl = buf, *fa = buf + n, *mem = buf + 2 * n, *bat = buf + 3 * n, *y = buf + 4 * n,
           *scratch = buf + 5 * n;
    for (size_t i = 0; i < n; i++) {
        /* work of `batch` identical sequences: one sequence's, scaled, with
         * the weights read once */
        cc_sim_item it = {pts[i].n_new, pts[i].n_cached, 0};
        cc_sim_work w;
        cc_sim_work_forward(&m, &it, 1, &w);
        double B = (double)pts[i].batch;
        fl[i] = w.flops_linear * B / peak;
        fa[i] = w.flops_attn * B / peak;
        mem[i] = (w.bytes_weights + w.bytes_kv * B) / hw->hbm_bytes_per_s;
        bat[i] = B;
        y[i] = pts[i].seconds;
    }
    fitctx c = {n, fl, fa, mem, bat, y, {0}, {0}, 0};

    gsl_error_handler_t *old_handler = gsl_set_error_handler_off();
    double ymin = y[0];
    for (size_t i = 1; i < n; i++)
        ymin = fmin(ymin, y[i]);
    double prior[CC_SIM_N_COEFFS];
    cc_sim_coeffs pc = hw->coeffs;
    for (int k = 0; k < CC_SIM_N_COEFFS; k++)
        prior[k] = log(fmax(*cc_sim_coeff_ptr(&pc, k), k == 3 ? 0.1 * ymin : k == 4 ? 1e-3 * ymin : 1e-3));

    c.n_free = CC_SIM_N_COEFFS;
    for (int k = 0; k < CC_SIM_N_COEFFS; k++)
        c.free_idx[k] = k;
    double best_u[CC_SIM_N_COEFFS], best = HUGE_VAL;
    int best_it = 0;
    static const double grid[3] = {0.05, 0.3, 1.0};
    for (int s = 0; s < N_STARTS; s++) {
        double u0[CC_SIM_N_COEFFS], u1[CC_SIM_N_COEFFS];
        memcpy(u0, prior, sizeof u0);
        if (s > 0) {
            int g = s - 1;
            u0[0] = log(grid[g % 3]);
            u0[1] = log(grid[g / 3 % 3]);
            u0[2] = log(grid[g / 9 % 3]);
        }
        int it = 0;
        double cst = lm_run(&c, u0, u1, &it);
        if (cst < best) {
            best = cst;
            memcpy(best_u, u1, sizeof best_u);
            best_it = it;
        }
    }
    if (!(best < HUGE_VAL)) {
        gsl_set_error_handler(old_handler);
        free(buf);
        return cc_err_set(err, CC_ERANGE, NULL, 0, "points",
                          "the fit failed from every start (degenerate points?)");
    }
    /* Efficiencies the points do not constrain keep their prior. */
    double colnorm[3] = {0, 0, 0}, g[CC_SIM_N_COEFFS];
    for (size_t i = 0; i < n; i++) {
        grad(&c, best_u, i, g);
        for (int k = 0; k < 3; k++)
            colnorm[k] += (g[k] / y[i]) * (g[k] / y[i]);
    }
    unsigned held = 0;
    for (int k = 0; k < 3; k++)
        if (!(sqrt(colnorm[k]) > 1e-9))
            held |= 1u << k;
    if (held) {
        double u0[CC_SIM_N_COEFFS];
        memcpy(u0, best_u, sizeof u0);
        c.n_free = 0;
        for (int k = 0; k < CC_SIM_N_COEFFS; k++) {
            if (held & (1u << k))
                u0[k] = log(*cc_sim_coeff_ptr(&pc, k));
            else
                c.free_idx[c.n_free++] = k;
        }
        double u1[CC_SIM_N_COEFFS];
        int it = 0;
        double cst = lm_run(&c, u0, u1, &it);
        if (cst < HUGE_VAL) {
            memcpy(best_u, u1, sizeof best_u);
            best_it = it;
        } else {
            memcpy(best_u, u0, sizeof best_u);
        }
    }
    gsl_set_error_handler(old_handler);

    for (int k = 0; k < CC_SIM_N_COEFFS; k++) {
        double v = exp(best_u[k]);
        if (k < 3)
            v = fmin(fmax(v, 1e-3), 4.0); /* exp(log(4)) may round above 4 */
        if (k >= 3 && best_u[k] <= U_MIN + 1)
            v = 0; /* an overhead driven to nothing */
        *cc_sim_coeff_ptr(&res->coeffs, k) = v;
    }
    res->held_mask = held;
    res->n_points = n;
    res->iterations = best_it;
    double ymean = 0, ss_res = 0, ss_tot = 0;
    for (size_t i = 0; i < n; i++)
        ymean += y[i] / n;
    for (size_t i = 0; i < n; i++) {
        double t = model_t(&c, best_u, i, NULL);
        scratch[i] = fabs(t - y[i]) / y[i];
        ss_res += (t - y[i]) * (t - y[i]);
        ss_tot += (y[i] - ymean) * (y[i] - ymean);
    }
    gsl_sort(scratch, 1, n);
    res->median_abs_rel_err = gsl_stats_median_from_sorted_data(scratch, 1, n);
    res->p95_abs_rel_err = gsl_stats_quantile_from_sorted_data(scratch, 1, n, 0.95);
    res->max_abs_rel_err = scratch[n - 1];
    res->r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : (ss_res == 0 ? 1 : 0);
    free(buf);
    return CC_OK;
}

int cc_calib_write_profile(const char *path, const cc_sim_hw *base, const char *name,
                           const cc_sim_model *m, const cc_calib_result *r,
                           const char *provenance, cc_err *err)
{
    cc_sim_hw hw = *base;
    if (!name || !*name || strlen(name) >= sizeof hw.name)
        return cc_err_set(err, CC_EARG, NULL, 0, "name", "expected a profile name (1-63 chars)");
    snprintf(hw.name, sizeof hw.name, "%s", name);
    hw.coeffs = r->coeffs;
    char held[128] = "";
    for (int k = 0; k < CC_SIM_N_COEFFS; k++)
        if (r->held_mask & (1u << k)) {
            size_t l = strlen(held);
            snprintf(held + l, sizeof held - l, "%s%s", l ? ", " : "", cc_sim_coeff_names[k]);
        }
    size_t cap = 1024 + (provenance ? strlen(provenance) : 0);
    char *comment = malloc(cap);
    if (!comment)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "", "cannot allocate the header comment");
    snprintf(comment, cap,
             "Hardware profile '%s', written by the calibration (sim/calibrate.c).\n"
             "Device numbers are those of profile '%s'; the coefficients eff_linear,\n"
             "eff_attn, eff_mem, step_overhead_s and item_overhead_s are a least-squares\n"
             "fit of %zu measured steps of model '%s' (%s weights, %s KV).\n"
             "Fit error: median |rel err| %.4f, p95 %.4f, max %.4f; R^2 %.6f.\n"
             "Held at the prior (not determined by the points): %s.\n"
             "%s%s",
             name, base->name, r->n_points, m->name, cc_sim_dtype_name(m->dtype),
             cc_sim_dtype_name(m->kv_dtype >= 0 ? m->kv_dtype : m->dtype), r->median_abs_rel_err,
             r->p95_abs_rel_err, r->max_abs_rel_err, r->r2, held[0] ? held : "none",
             provenance ? "Measurements: " : "", provenance ? provenance : "");
    int rc = cc_sim_hw_write(path, &hw, comment, err);
    free(comment);
    return rc;
}
